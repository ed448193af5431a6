"""Financial ratios, defined once: the SME pages, the API and the scoring features all use these.
Each returns None when the denominator is missing or zero, because a made-up 0 would look like data."""


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def debt_ratio(total_liabilities: float | None, total_assets: float | None) -> float | None:
    """资产负债率: liabilities / assets."""
    return _ratio(total_liabilities, total_assets)


def profit_margin(net_profit: float | None, annual_revenue: float | None) -> float | None:
    """净利率: net profit / revenue."""
    return _ratio(net_profit, annual_revenue)


def tax_to_revenue(taxes_paid: float | None, annual_revenue: float | None) -> float | None:
    """税收贡献率: taxes paid / revenue (a check on declared revenue: taxes are hard to fake)."""
    return _ratio(taxes_paid, annual_revenue)


def flow_to_revenue(monthly_settlement_flow: float | None, annual_revenue: float | None) -> float | None:
    """结算流水覆盖率: twelve months of bank settlement flow / declared revenue."""
    if monthly_settlement_flow is None:
        return None
    return _ratio(12 * monthly_settlement_flow, annual_revenue)


def derived_ratios(profile: dict[str, float | None]) -> dict[str, float | None]:
    """All four ratios of a profile given with DESIGN.md's field names."""
    return {
        "debt_ratio": debt_ratio(profile.get("total_liabilities"), profile.get("total_assets")),
        "profit_margin": profit_margin(profile.get("net_profit"), profile.get("annual_revenue")),
        "tax_to_revenue": tax_to_revenue(profile.get("taxes_paid"), profile.get("annual_revenue")),
        "flow_to_revenue": flow_to_revenue(profile.get("monthly_settlement_flow"), profile.get("annual_revenue")),
    }
