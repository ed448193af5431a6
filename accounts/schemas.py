"""Input of the password forms: a new password follows the registration's rule (accounts.passwords)."""

from marshmallow import RAISE, Schema, fields, validate

from accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

NEW_PASSWORD = validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)


class PasswordResetSchema(Schema):
    """A new password set through a reset link."""

    class Meta:
        unknown = RAISE

    new_password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)


class PasswordChangeSchema(PasswordResetSchema):
    """A signed-in user's change: the current password, then the new one."""

    current_password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_PASSWORD_LENGTH))
