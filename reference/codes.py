"""Code lists with their Chinese and English labels. A code list is data: add a row here, not a literal
elsewhere."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    zh: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale.startswith("en") else self.zh


PRODUCT_TYPES: tuple[Code, ...] = (
    Code("e_loan", "e贷（线上信用贷）", "e-loan (online credit)"),
    Code("settlement_loan", "结算贷", "settlement-flow loan"),
    Code("ip_pledge_loan", "知识产权质押贷", "IP-pledge loan"),
    Code("receivables_pledge_loan", "应收账款质押贷", "receivables-pledge loan"),
    Code("mortgage_loan", "抵押贷", "mortgage loan"),
    Code("credit_loan", "信用贷", "credit loan"),
    Code("guarantee_loan", "担保贷（政府增信）", "guaranteed loan"),
    Code("supply_chain_loan", "供应链贷", "supply-chain loan"),
    Code("renewal_loan", "无还本续贷", "renewal without repayment"),
)

COLLATERAL_KINDS: tuple[Code, ...] = (
    Code("none", "无需抵押（信用）", "none (unsecured)"),
    Code("real_estate", "不动产抵押", "real estate"),
    Code("ip_pledge", "知识产权质押", "IP pledge"),
    Code("receivables", "应收账款质押", "receivables"),
    Code("movable_property", "动产质押", "movable property"),
    Code("land_use_right", "土地使用权", "land-use right"),
    Code("third_party_guarantee", "第三方保证", "third-party guarantee"),
    Code("government_guarantee", "政府性融资担保", "government guarantee"),
)

# GB/T 4754-2017 门类 (sections). Deeper codes (e.g. "C39") start with their section letter.
INDUSTRY_SECTIONS: tuple[Code, ...] = (
    Code("A", "农、林、牧、渔业", "Agriculture, forestry, animal husbandry and fishery"),
    Code("B", "采矿业", "Mining"),
    Code("C", "制造业", "Manufacturing"),
    Code("D", "电力、热力、燃气及水生产和供应业", "Electricity, heat, gas and water"),
    Code("E", "建筑业", "Construction"),
    Code("F", "批发和零售业", "Wholesale and retail trade"),
    Code("G", "交通运输、仓储和邮政业", "Transport, storage and post"),
    Code("H", "住宿和餐饮业", "Accommodation and catering"),
    Code("I", "信息传输、软件和信息技术服务业", "Information transmission, software and IT services"),
    Code("J", "金融业", "Finance"),
    Code("K", "房地产业", "Real estate"),
    Code("L", "租赁和商务服务业", "Leasing and business services"),
    Code("M", "科学研究和技术服务业", "Scientific research and technical services"),
    Code("N", "水利、环境和公共设施管理业", "Water conservancy, environment and public facilities"),
    Code("O", "居民服务、修理和其他服务业", "Resident services, repair and other services"),
    Code("P", "教育", "Education"),
    Code("Q", "卫生和社会工作", "Health and social work"),
    Code("R", "文化、体育和娱乐业", "Culture, sports and entertainment"),
    Code("S", "公共管理、社会保障和社会组织", "Public administration and social organisations"),
    Code("T", "国际组织", "International organisations"),
)

# 工信部联企业〔2011〕300号 size classes (the thresholds are in reference/size_classes.py).
SIZE_CLASSES: tuple[Code, ...] = (
    Code("large", "大型", "large"),
    Code("medium", "中型", "medium"),
    Code("small", "小型", "small"),
    Code("micro", "微型", "micro"),
)

PRODUCT_STATUSES: tuple[Code, ...] = (
    Code("draft", "草稿", "draft"),
    Code("active", "在售", "active"),
    Code("paused", "暂停", "paused"),
    Code("withdrawn", "已下架", "withdrawn"),
)


def is_industry_code(value: str) -> bool:
    """A GB/T 4754-2017 section letter, optionally followed by up to four ASCII digits: "C", "C39", "C3911"."""
    digits = value[1:]
    sections = {row.code for row in INDUSTRY_SECTIONS}
    return bool(value) and value[0] in sections and len(digits) <= 4 and all("0" <= c <= "9" for c in digits)


def codes(table: tuple[Code, ...]) -> list[str]:
    return [row.code for row in table]


def label(table: tuple[Code, ...], code: str, locale: str) -> str:
    for row in table:
        if row.code == code:
            return row.label(locale)
    return code


NEED_PURPOSES: tuple[Code, ...] = (
    Code("working_capital", "流动资金周转", "working capital"),
    Code("equipment", "购置设备", "equipment"),
    Code("expansion", "扩大经营", "expansion"),
    Code("technology_upgrade", "技术改造升级", "technology upgrade"),
    Code("renewal", "到期贷款续贷", "renewal of a maturing loan"),
    Code("other", "其他", "other"),
)

NEED_STATUSES: tuple[Code, ...] = (
    Code("open", "待匹配", "open"),
    Code("matched", "已推荐", "matched"),
    Code("accepted", "银行已受理", "accepted"),
    Code("granted", "已获授信", "granted"),
    Code("withdrawn", "已撤回", "withdrawn"),
    Code("expired", "已过期", "expired"),
)

# Where a profile figure comes from: self-declared figures weigh less with lenders than checked ones.
FIGURE_SOURCES: tuple[Code, ...] = (
    Code("self_declared", "企业自报", "self-declared"),
    Code("audited", "经审计报表", "audited statements"),
    Code("tax_record", "纳税记录", "tax records"),
    Code("bank_statement", "银行流水", "bank statements"),
)

PROPOSAL_STATUSES: tuple[Code, ...] = (
    Code("pending", "待银行答复", "awaiting the bank"),
    Code("accepted", "银行已受理", "accepted by the bank"),
    Code("rejected", "银行未受理", "declined by the bank"),
    Code("granted", "已授信", "credit granted"),
    Code("expired", "超时未答复", "expired"),
    Code("withdrawn", "已撤回", "withdrawn"),
)

# Why a bank declines a proposal; "other" needs a note.
REJECT_REASONS: tuple[Code, ...] = (
    Code("insufficient_cash_flow", "经营现金流不足", "insufficient cash flow"),
    Code("insufficient_collateral", "抵质押物不足", "insufficient collateral"),
    Code("credit_history", "信用记录不良", "credit history"),
    Code("outside_risk_appetite", "不符合银行风险偏好", "outside the bank's risk appetite"),
    Code("documents_incomplete", "申请材料不全", "documents incomplete"),
    Code("sme_withdrew", "企业放弃申请", "the enterprise withdrew"),
    Code("other", "其他原因", "other"),
)

LOAN_KINDS: tuple[Code, ...] = (
    Code("first_loan", "首贷", "first loan"),
    Code("new_loan", "新增贷款", "new loan"),
    Code("renewal", "续贷", "renewal"),
)

CREDIT_EVENT_KINDS: tuple[Code, ...] = (
    Code("granted", "授信", "granted"),
    Code("disbursed", "放款", "disbursed"),
    Code("repaid", "还款", "repaid"),
    Code("overdue", "逾期", "overdue"),
    Code("defaulted", "违约", "defaulted"),
    Code("renewed", "续贷", "renewed"),
    Code("corrected", "更正", "corrected"),
)

# A loan's state as its ledger leaves it (matchmaker.ledger).
LOAN_STATUSES: tuple[Code, ...] = (
    Code("current", "正常", "current"),
    Code("overdue", "逾期", "overdue"),
    Code("defaulted", "违约", "defaulted"),
    Code("repaid", "已结清", "repaid"),
)

# The audit log (accounts/audit.py): what kind of record changed, and how.
AUDIT_ENTITY_KINDS: tuple[Code, ...] = (
    Code("product", "贷款产品", "loan product"),
    Code("proposal", "推荐", "proposal"),
    Code("loan", "贷款", "loan"),
)

AUDIT_ACTIONS: tuple[Code, ...] = (
    Code("created", "创建", "created"),
    Code("updated", "修改", "updated"),
    Code("status_changed", "状态变更", "status changed"),
    Code("decided", "银行决定", "decision"),
    Code("event", "贷款事件", "loan event"),
)
