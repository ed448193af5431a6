#!/bin/sh
# Bring the schema up to date, load the synthetic demo when asked (MATCHMAKER_DEMO=1, empty database
# only), then replace this shell with gunicorn so that it receives the container's signals.
set -eu

matchmaker db upgrade
if [ "${MATCHMAKER_DEMO:-0}" = "1" ]; then
    matchmaker demo load --if-empty
fi
exec gunicorn --config gunicorn.conf.py --bind 0.0.0.0:8000 "$@" "api:create_app()"
