"""What each finding code says to the clerk, in Chinese and English: what is wrong and how to fix it."""

from __future__ import annotations

# code: (Chinese, English).  Placeholders come from the finding's params.
MESSAGES: dict[str, tuple[str, str]] = {
    # file level
    "header-not-found": (
        "在前 {searched} 行中找不到表头。请确认表头行包含「姓名」「身份证号」「证书编号」等列名"
        "（可用 fjvoucher layout 生成标准名册模板）",
        "No header row in the first {searched} rows. The header must name columns such as 姓名, 身份证号, 证书编号 "
        "(fjvoucher layout writes an empty official roster)"),
    "column-missing": (
        "缺少必填列「{header}」。请在表头中加上这一列（也可写作：{aliases}）",
        "Required column {header} is missing. Add it to the header (also accepted: {aliases})"),
    "column-duplicated": (
        "「{header}」列出现了不止一次（{columns} 列）。请删除多余的列，只保留一列",
        "Column {header} appears more than once (columns {columns}). Keep only one"),
    "other-sheets": (
        "读取的是工作表「{sheet}」；工作簿中还有：{others}（未读取）。如名册在其他工作表，请用 --sheet 指定",
        "Read sheet {sheet}; the workbook also has {others} (not read). Use --sheet to choose another"),
    "columns-ignored": (
        "以下列不属于凭证内容，已忽略：{headers}",
        "These columns are not part of the voucher and were ignored: {headers}"),
    # any cell
    "required-missing": (
        "「{header}」为必填项，但此格为空。请补填",
        "{header} is required but the cell is empty. Fill it in"),
    "control-characters": (
        "「{value}」中含有看不见的控制字符（如复制粘贴带入的换行符），已删除。请核对此格内容",
        "{value!r} contained invisible control characters (pasted line breaks and the like); they were removed. "
        "Check the cell"),
    "formula-error": (
        "此格是出错或未计算的公式，Excel 中显示为「{value}」，读出来会是空白或 0。请在 Excel 中修正公式，"
        "或复制后用“选择性粘贴 > 数值”换成数值再保存",
        "The cell holds a formula that failed or was never calculated (Excel shows {value}); it would read as "
        "blank or 0. Fix the formula, or paste the column as values, and save again"),
    "stored-as-number": (
        "此格被 Excel 存成了数字，显示为 {shown}（即 {value}）：Excel 的数字只保留 15 位，末尾 {lost} 位已丢失，"
        "无法还原。请把此列设置为「文本」格式，重新从考务软件导出或重新录入",
        "Excel stored this cell as a number, shown as {shown} ({value}): Excel keeps 15 digits, so the last "
        "{lost} are lost for good. Format the column as Text and export or type it again"),
    "cell-too-long": (
        "此格有 {length} 个字符，超过 Excel 单格上限 {limit}，不可能是名册内容。请核对此格",
        "The cell holds {length} characters, more than Excel's limit of {limit}. Check the cell"),
    "line-break": (
        "「{value}」中有换行（⏎，Alt+Enter 输入的），凭证上这一栏只有一行，会丢掉后面的字。请删除换行",
        "{value!r} contains a line break (Alt+Enter); the voucher's box holds one line. Remove it"),
    "too-wide-for-box": (
        "「{header}」的内容「{value}」约 {width} 个字宽，凭证上这一栏只有 {limit} 个字宽，打印时会被截断或挤出。"
        "请核对，或改用简称",
        "{header} {value!r} is about {width} characters wide; its box on the voucher holds {limit}. "
        "It would be cut off. Check it or use the short form"),
    "code-not-ascii": (
        "「{value}」中的「{chars}」不是普通数字或字母（可能是其他文字的数字），编号只能用 0-9、A-Z。请重新输入",
        "{value!r} contains {chars!r}, which are not plain digits or letters (digits of another script). "
        "Codes use 0-9 and A-Z only; type it again"),
    # name
    "name-rare-characters": (
        "姓名「{value}」中的「{chars}」不在 GBK 字符集内，很多字体无法显示。请确认打印效果，必要时手写补正",
        "Name {value} has characters outside GBK ({chars}) that many fonts lack. Check the printout"),
    "name-invisible": (
        "姓名「{value}」中有看不见的字符 {chars}（多为复制粘贴带入），凭证上看不出来，按印出的姓名查询真伪会查不到。"
        "请删除这些字符后重新输入姓名",
        "Name {value} contains invisible characters {chars} (usually pasted in); the voucher does not show them, "
        "so verifying with the printed name would fail. Remove them and type the name again"),
    "name-no-letter": (
        "姓名「{value}」（{chars}）没有可打印的文字，或以组合符号开头，不是一个姓名。请对照身份证重新输入",
        "Name {value!r} ({chars}) has no letter to print, or starts with a combining mark. "
        "Type it again from the ID card"),
    "no-glyph": (
        "「{value}」中的「{chars}」在本机所有已安装字体中都没有字形，打印会出现方框。请安装含该字的字体"
        "（如花园明朝 HanaMin）后再打印",
        "No installed font has a glyph for {chars} in {value}; it would print as a box. Install a font that has it "
        "(e.g. HanaMin) before printing"),
    # sex
    "sex-invalid": (
        "性别「{value}」无法识别。请填写「男」或「女」（或代码 1、2）",
        "Sex {value!r} is not recognised. Use 男 or 女 (or the codes 1, 2)"),
    # dates
    "date-invalid": (
        "「{value}」不是有效日期。请写成 1985-03-12 或 1985年3月12日 这样的形式",
        "{value!r} is not a valid date. Write it as 1985-03-12 or 1985年3月12日"),
    "issue-before-birth": (
        "发证日期 {value} 早于出生日期 {birth}。请核对两个日期",
        "Issue date {value} is before the birth date {birth}. Check both dates"),
    "date-future": (
        "日期 {value} 晚于今天（{today}）。请核对年份",
        "Date {value} is later than today ({today}). Check the year"),
    # education
    "education-unknown": (
        "文化程度「{value}」不在常用名称中（如 初中、高中、中专、技校、职高、大专、本科、研究生）。"
        "如确实如此可以打印，否则请更正",
        "Education {value!r} is not a usual GB 4658 name (初中, 高中, 中专, 技校, 大专, 本科…). "
        "Print it if it is right, otherwise correct it"),
    # ID numbers
    "id-length": (
        "身份证号「{value}」是 {length} 位，应为 18 位。请对照身份证核对",
        "ID number {value} has {length} characters; it must have 18. Check it against the ID card"),
    "id-characters": (
        "身份证号「{value}」含有非法字符：前 17 位必须是数字，最后一位是数字或 X。请核对",
        "ID number {value} has invalid characters: 17 digits, then a digit or X. Check it"),
    "id-birth-impossible": (
        "身份证号「{value}」中的出生日期 {birth} 不存在。请对照身份证核对",
        "ID number {value} contains an impossible birth date {birth}. Check it against the ID card"),
    "id-check-digit": (
        "身份证号「{value}」校验位错误：按前 17 位计算，最后一位应为 {expected}，现为 {found}。"
        "通常是某一位录错了，请对照身份证核对",
        "ID number {value} fails its check digit: the last character should be {expected}, not {found}. "
        "A digit is probably mistyped; check it against the ID card"),
    "id-legacy": (
        "身份证号「{value}」是 15 位旧号码。可以打印，但建议改为 18 位新号码",
        "ID number {value} is a 15-digit legacy number. It can be printed; the 18-digit number is preferred"),
    "id-birth-mismatch": (
        "出生日期 {value} 与身份证号中的出生日期 {id_birth} 不一致。请核对出生日期或身份证号",
        "Birth date {value} disagrees with the ID number's {id_birth}. Check the birth date or the ID number"),
    "id-sex-mismatch": (
        "性别「{value}」与身份证号（第 17 位）表示的「{id_sex}」不一致。请核对性别或身份证号",
        "Sex {value} disagrees with the ID number, which says {id_sex}. Check the sex or the ID number"),
    # level, scores, result
    "level-unknown": (
        "等级「{value}」无法识别。请填写 五级/初级、四级/中级、三级/高级、二级/技师 或 一级/高级技师",
        "Level {value!r} is not recognised. Use 五级/初级, 四级/中级, 三级/高级, 二级/技师 or 一级/高级技师"),
    "score-not-number": (
        "成绩「{value}」不是数字。请只填写分数，如 85 或 85.5",
        "Score {value!r} is not a number. Write the score only, e.g. 85 or 85.5"),
    "score-out-of-range": (
        "成绩 {value} 不在 0–100 之间。请核对",
        "Score {value} is outside 0–100. Check it"),
    "score-decimals": (
        "成绩 {value} 的小数超过一位。请保留一位小数，如 85.5",
        "Score {value} has more than one decimal. Keep one, e.g. 85.5"),
    "score-fail": (
        "成绩 {value} 低于 60 分，不合格的考生不能核发凭证。请核对成绩，或把此人从名册中删除",
        "Score {value} is below 60: a candidate who failed gets no voucher. Check the score or remove the row"),
    "result-not-pass": (
        "评定成绩为「{value}」，只有「合格」「良好」「优秀」的考生才能核发凭证。请核对，或把此人从名册中删除",
        "Result {value!r} is not a pass (合格, 良好, 优秀): no voucher. Check it or remove the row"),
    # certificate number
    "cert-leading-zero-restored": (
        "证书编号被 Excel 存成了数字，开头的 0 丢失了，已补回为 {fixed}。请核对，并把此列设置为「文本」格式",
        "The certificate number was stored as a number and lost its leading zero; restored as {fixed}. "
        "Check it and format the column as Text"),
    "cert-format": (
        "证书编号「{value}」应为 16 位数字，现为 {length} 位。请核对",
        "Certificate number {value} must be 16 digits; it has {length} characters. Check it"),
    "cert-level-mismatch": (
        "证书编号「{value}」第 11 位（等级码）是 {digit}，与等级「{level}」（应为 {expected}）不一致。"
        "请核对等级或证书编号",
        "Certificate number {value} has level digit {digit} (11th), but level {level} means {expected}. "
        "Check the level or the number"),
    "cert-year-mismatch": (
        "证书编号「{value}」开头的年份 {cert_year} 与发证日期的年份 {issue_year} 不同。请确认无误",
        "Certificate number {value} starts with year {cert_year}, the issue date says {issue_year}. Check it"),
    "cert-province": (
        "证书编号「{value}」第 3–4 位是 {province}，不是福建省代码 35。请确认无误",
        "Certificate number {value} has province code {province}, not Fujian's 35. Check it"),
    # whole roster
    "duplicate-certificate": (
        "证书编号「{value}」与第 {first_row} 行重复。每张证书编号只能出现一次，请核对",
        "Certificate number {value} already appears in row {first_row}. Each number may appear once"),
    "duplicate-id-name": (
        "身份证号 {value} 在第 {first_row} 行登记的姓名是「{first_name}」，这里却是「{name}」。请核对姓名或身份证号",
        "ID number {value} belongs to {first_name} in row {first_row}, but here to {name}. "
        "Check the name or the ID number"),
    "duplicate-id-occupation": (
        "此人（身份证号 {value}）同一职业、同一等级已在第 {first_row} 行出现。请删除重复的一行",
        "This person (ID {value}) already appears in row {first_row} for the same occupation and level. "
        "Remove the duplicate"),
    "age-unusual": (
        "按出生日期，发证时年龄为 {age} 岁，不太常见。请确认出生日期无误",
        "The candidate is {age} at the issue date, which is unusual. Check the birth date"),
    "center-incomplete": (
        "鉴定指导中心「{value}」不像完整名称。凭证落款应为全称，如「福州市职业技能鉴定指导中心」",
        "Centre {value!r} does not look like a full name, e.g. 福州市职业技能鉴定指导中心"),
    # merge
    "center-missing": (
        "有 {rows} 行没有鉴定指导中心名称，凭证落款无法打印。请在名册中填写「鉴定指导中心」列，或加 --center，"
        "或运行一次 fjvoucher config set center_name 本中心全称",
        "{rows} rows have no appraisal centre for the seal line. Fill the 鉴定指导中心 column, pass --center, "
        "or run fjvoucher config set center_name once"),
    "center-near-miss": (
        "鉴定指导中心「{value}」与福建省的中心名称不完全一致，可能是「{likely}」。请核对，落款按名册原样打印",
        "Centre {value!r} is not quite a Fujian centre's name; {likely!r} is likely meant. It prints as written"),
    "footer-skipped": (
        "第 {rows} 行是表格下方的合计、签字或日期行，不是考生，已跳过",
        "Rows {rows} are totals, signatures or dates under the table, not candidates: skipped"),
    "name-inner-space": (
        "姓名「{value}」中间有空格，凭证上将印作「{fixed}」。请核对",
        "Name {value!r} has spaces inside; the voucher prints {fixed!r}. Check it"),
    "expired-on-print": (
        "发证日期 {value} 的凭证有效期至 {until}，今天（{today}）打印时已经过期。请核对发证日期",
        "Issued {value}, the voucher was valid until {until}: it has expired before it is printed today ({today}). "
        "Check the issue date"),
    "photo-missing": (
        "照片文件夹中找不到此人的照片（按身份证号 {id} 或准考证号 {exam_no} 命名的 jpg/png）。照片框将留空",
        "No photo named by ID number {id} or exam number {exam_no} (jpg/png); the photo box stays empty"),
    "duplicate-voucher-no": (
        "凭证编号「{value}」与第 {first_row} 行重复。每个凭证编号只能用一次，请核对",
        "Voucher NO {value} already appears in row {first_row}. Each NO may be used once"),
    # ledger
    "ledger-changed": (
        "证书编号 {value} 已发过凭证 {voucher_no}，但名册内容有变化：{changes}。如确需补发新凭证，请加 --reissue",
        "Certificate {value} already has voucher {voucher_no}, but the roster changed: {changes}. "
        "Use --reissue to issue a replacement"),
    "ledger-reissue": (
        "证书编号 {value} 的凭证 {voucher_no} 将作废并补发新凭证，变化：{changes}",
        "Voucher {voucher_no} of certificate {value} will be replaced by a new one; changes: {changes}"),
    "ledger-retired": (
        "证书编号 {value} 的凭证 {voucher_no} {status}（原因：{reason}），不会再发新凭证。请从名册中删除此行；"
        "确需补发时加 --reissue，误作废的可用 fjvoucher restore 恢复",
        "Voucher {voucher_no} of certificate {value} is {status} (reason: {reason}): no new voucher. Remove the row; "
        "to reissue anyway use --reissue, to undo a mistaken revocation use fjvoucher restore"),
    "voucher-no-form": (
        "凭证编号「{value}」查询时会被读作「{read}」，与印在凭证上的不同，真伪查询将查不到这张凭证。"
        "请写成「{read}」（不带 NO 前缀，字母大写，不含空格和看不见的字符）",
        "Voucher NO {value!r} would be looked up as {read!r}, not as printed: verify would never find it. "
        "Write {read!r} (no NO prefix, capital letters, no spaces)"),
    "voucher-no-clash": (
        "凭证编号「{value}」在台账中属于证书 {other}，与本行证书编号不符。请核对凭证编号",
        "Voucher NO {value} belongs to certificate {other} in the ledger. Check the NO"),
    "photos-none": (
        "没有指定照片文件夹（--photos，或 fjvoucher config set photos 文件夹），凭证上的照片框将留空",
        "No photo folder (--photos, or fjvoucher config set photos FOLDER): the photo boxes stay empty"),
    # province
    "ledger-other-centre": (
        "此人（身份证号 {value}）同一职业、同一等级已由中心 {center} 发过凭证 {voucher_no}（证书编号 {other_cert}），"
        "仍然有效。请核对是否重复；确属两张证书时，可由省中心把设置 other_centre 改为 warn",
        "This person (ID {value}) already holds voucher {voucher_no} from centre {center} (certificate "
        "{other_cert}) for the same occupation and level, in force. Check for a duplicate; if both certificates "
        "are real, the province may set other_centre to warn"),
    "upload-missing": (
        "此项为空，国家证书查询系统需要「{header}」。请在台账中补全（如重新 merge 名册时加 --center）后再生成上报文件",
        "Empty, but the national query system needs {header}. Complete the record (e.g. merge again with "
        "--center) before writing the upload"),
    "photo-unreadable": (
        "照片 {file} 无法使用：{reason}。请换一张 JPG 或 PNG 照片",
        "Photo {file} cannot be used: {reason}. Replace it with a JPG or PNG"),
    # masters (the voucher template): why one cannot be used
    "master-malformed": (
        "凭证母版 {master} 的 {part} 不是完整的 XML（{error}），文件可能已损坏；请在 Word 中打开后重新保存 "
        "(malformed XML)",
        "Master {master}: part {part} is not well-formed XML ({error}); open it in Word and save it again"),
    "master-declarations": (
        "凭证母版 {master} 的 {part} 含有 DOCTYPE/ENTITY 声明或样式表指令，不能使用 (XML declarations)",
        "Master {master}: part {part} holds a DOCTYPE/ENTITY declaration or a stylesheet instruction"),
    "master-encoding": (
        "凭证母版 {master} 的 {part} 声明的编码是 {encoding}，不是 UTF-8；请在 Word 中另存为 .docx (not UTF-8)",
        "Master {master}: part {part} declares encoding {encoding}, not UTF-8; save it again as .docx in Word"),
    "master-external": (
        "凭证母版 {master} 的 {part} 链接了外部内容（{target}），打印时会被读取，不能使用；"
        "请在 Word 中把链接的图片改为嵌入，删除超链接和附加模板 (external relationship)",
        "Master {master}: part {part} links to outside content ({target}), which would be read when printing; "
        "embed linked pictures, remove hyperlinks and attached templates"),
    "master-object": (
        "凭证母版 {master} 的 {part} 含有嵌入对象（OLE/控件），不能使用；请删除它 (embedded object)",
        "Master {master}: part {part} holds an embedded object (OLE or control); remove it"),
    "master-nested": (
        "凭证母版 {master} 的 {part} 嵌入了另一份文档（{what}：如“插入 > 对象 > 文件中的文字”、子文档、框架），"
        "其中的内容不经检查就会打印，不能使用；请把内容直接粘贴到母版中 (nested document)",
        "Master {master}: part {part} nests another document ({what}: inserted file, subdocument, frame) that "
        "would print unchecked; paste its content into the master instead"),
    "master-fields": (
        "凭证母版 {master} 的 {part} 含有引用外部内容的域 {fields}，不能使用；请在 Word 中删除这些域 "
        "(fields that include other content)",
        "Master {master}: part {part} has fields that include outside content ({fields}); remove them in Word"),
    "master-field-built": (
        "凭证母版 {master} 的 {part} 中有域代码由另一个域生成（如 {{ {{ QUOTE … }} … }}），打印前无法知道它做什么，"
        "不能使用；请在 Word 中改写这个域 (field code built from a nested field)",
        "Master {master}: part {part} has a field whose code is made by a nested field; what it does cannot be "
        "known before Word updates it. Rewrite the field"),
    "master-fields-not-merged": (
        "凭证母版 {master} 的 {part}（{what}）中有占位符或合并域（{example}）。fjvoucher 只填写正文、页眉和页脚"
        "（word/headerN.xml、word/footerN.xml），这里的会按原样印在每张凭证上，不能使用；请把它移到正文中 "
        "(placeholders outside the body, headers and footers)",
        "Master {master}: part {part} ({what}) holds a placeholder or merge field ({example}). Only the body, "
        "headers and footers are filled in; this one would print as written on every voucher. Move it to the body"),
    "master-output-unbounded": (
        "凭证母版 {master} 中的占位符「{{{{ {expression} }}}}」在名册内容最长（每格 {cell} 字）时"
        "会产生约 {chars} 个字符，超过一个占位符的上限 {limit}，一行名册就可能生成几百 MB 的文档；"
        "请简化这个占位符的过滤器 (unbounded expression)",
        "Master {master}: placeholder {{{{ {expression} }}}} can produce about {chars} characters when a cell holds "
        "{cell}, more than the {limit} one placeholder may; simplify its filters"),
    "master-output-too-large": (
        "凭证母版 {master} 套用时超出了一张凭证的上限：{what}。请简化母版中的过滤器 (voucher too large)",
        "Master {master}: a voucher grew past its bound: {what}. Simplify the master's filters"),
    "master-duplicate-part": (
        "凭证母版 {master} 中的部件 {part} 出现了不止一次（名称只差大小写也算），Word 和 LibreOffice 读到的可能不是"
        "同一个，不能使用 (duplicate part)",
        "Master {master}: part {part} appears more than once (names differing only in case count), so Word "
        "and LibreOffice may read different ones"),
    "master-part-too-large": (
        "凭证母版 {master} 中的部件 {part} 解压后有 {megabytes} MB，远超一份凭证母版，可能已损坏或是恶意文件 "
        "(part far too large)",
        "Master {master}: part {part} unpacks to {megabytes} MB, far more than a voucher master holds"),
}

SEVERITY_WORDS = {"zh": {"error": "错误", "warning": "警告"}, "en": {"error": "error", "warning": "warning"}}


def message(code: str, params: dict, lang: str = "zh") -> str:
    """Return the clerk-facing sentence for finding `code` with `params`, in `lang` ("zh" or "en")."""
    zh, en = MESSAGES[code]
    return (en if lang == "en" else zh).format(**params)


# --- the ledger's vocabulary: every status and event word lives here, and only here ----------------

# A voucher's status as stored, and the two states a voucher in force shows by date.
VOUCHER_STATUSES = ("issued", "replaced", "revoked", "superseded")
STATES = ("genuine", "expired", "replaced", "revoked", "superseded")
LIST_STATUSES = ("issued", *STATES)  # what `list --status` filters by
# status → (Chinese, English): the CLI, the verification page, its JSON API and the monthly report all read this.
STATUS_TEXT = {
    "issued": ("有效", "In force"),
    "genuine": ("真实有效", "Genuine and valid"),
    "expired": ("已过有效期", "Expired"),
    "replaced": ("已补发替换（原凭证作废）", "Replaced (reissued)"),
    "revoked": ("已作废", "Revoked"),
    "superseded": ("已换发国家职业资格证书", "Superseded by the national certificate"),
    "unknown": ("查无此凭证", "No such voucher"),
}
STATUS_WORDS = {status: zh for status, (zh, _) in STATUS_TEXT.items()}
EVENT_KINDS = ("issued", "reissued", "replaced", "revoked", "restored", "superseded", "coded", "placed")
CHANGE_EVENTS = ("replaced", "revoked", "restored", "superseded")  # events that change a voucher's status
EVENT_WORDS = {"issued": "发放", "reissued": "补发", "replaced": "被补发替换", "revoked": "作废", "restored": "恢复",
               "superseded": "换发国家证书", "coded": "生成查询码", "placed": "排入打印批次"}
NATIONAL_CERTIFICATE = "国家职业资格证书已发放"  # the reason `supersede` records


def status_text(status: str, lang: str = "zh") -> str:
    """Return what `status` is called on screen, in `lang` ("zh" or "en")."""
    zh, en = STATUS_TEXT[status]
    return en if lang == "en" else zh


# --- failures: the code every error carries, what it means, and the exit code it ends with ---------

# code → (exit code, Chinese, English).  The error's own message says the particulars (file, NO, value).
FAILURES: dict[str, tuple[int, str, str]] = {
    "failure": (1, "无法完成", "the job could not be done"),
    "input-unusable": (2, "文件或参数无法使用", "a file or argument cannot be used"),
    "roster-unreadable": (2, "名册无法读取", "the roster cannot be read"),
    "template-unusable": (1, "母版无法使用", "the master cannot be used"),
    "photo-unusable": (1, "照片无法使用", "a photo cannot be used"),
    "pdf-engine": (1, "无法生成 PDF", "no PDF engine, or it failed"),
    "ledger-error": (1, "凭证台账出错", "the ledger cannot be used"),
    "ledger-not-found": (2, "找不到凭证台账", "no ledger there"),
    "ledger-not-ours": (2, "不是凭证台账文件", "not a fjvoucher ledger"),
    "ledger-tampered": (1, "台账与其签名的记录不符", "the ledger does not prove itself (see fjvoucher audit)"),
    "ledger-pg-dump": (1, "PostgreSQL 登记库由数据库管理员用 pg_dump 备份",
                       "a PostgreSQL registry is backed up with pg_dump"),
    "ledger-shared": (1, "PostgreSQL 登记库已经是共享的，不需要导出", "a PostgreSQL registry is shared already"),
    "ledger-too-new": (1, "台账由更新版本建立", "the ledger was written by a newer fjvoucher"),
    "ledger-read-only": (1, "台账所在位置只读", "the ledger's folder is read-only"),
    "ledger-damaged": (1, "台账记录已损坏", "a damaged ledger row"),
    "ledger-sqlite": (1, "台账数据库出错", "the ledger's database failed"),
    "ledger-connect": (1, "连接不上台账数据库", "cannot connect to the ledger's database"),
    "ledger-permission": (1, "本数据库账号无权做这项改动", "this database role may not make the change"),
    "ledger-busy": (1, "台账被同时运行的程序占用", "the ledger is busy with another run"),
    "ledger-postgres": (1, "台账数据库出错", "the ledger's PostgreSQL database failed"),
    "ledger-roles-missing": (1, "数据库中还没有所需的角色", "the database roles are missing"),
    "ledger-not-database": (2, "需要 postgresql:// 网址", "a postgresql:// URL is needed"),
    "exchange-refused": (1, "月度交换文件未导入", "the month's file was not imported"),
    "exchange-unreadable": (2, "不是月度交换文件", "not a fjvoucher month's file"),
    "exchange-signature": (1, "交换文件的签名无效", "the file's signature is not valid"),
    "exchange-broken": (1, "交换文件中的链被改动", "an event in the file was edited"),
    "exchange-unknown-centre": (1, "登记库没有这个中心的公钥", "the centre's key is not listed"),
    "exchange-wrong-key": (1, "文件不是用该中心登记的密钥签名的", "not signed with the centre's listed key"),
    "exchange-missing-month": (1, "缺少之前月份的文件", "an earlier month is missing"),
    "exchange-rewritten": (1, "中心改写了已导入的历史", "the centre rewrote history already imported"),
    "exchange-no-clash": (1, "凭证编号已属于另一个中心", "a NO already held by another centre"),
    "exchange-certificate-clash": (1, "证书已有另一个中心的有效凭证", "the certificate is in force at another centre"),
    "exchange-foreign-voucher": (1, "事件涉及不属于该中心的凭证", "an event on a voucher the centre did not issue"),
    "exchange-key-taken": (1, "该中心已登记另一把密钥", "the centre has another key listed"),
    "exchange-key-unreadable": (2, "不是中心的公钥", "not a centre's public key"),
    "exchange-wrong-month": (1, "文件中有不属于该月的事件", "an event outside the file's month"),
    "exchange-key-replaced": (1, "文件由已被替换的密钥签名", "signed with a replaced key past its point"),
    "exchange-province-changed": (1, "中心要改动省中心在登记库中改过的凭证", "the province changed this voucher"),
    "registry-not-sqlite": (2, "离线登记库是 SQLite 文件", "the offline registry is a SQLite file"),
    "disk-full": (1, "磁盘已满", "disk full"),
    "config-invalid": (2, "设置有误", "a setting in the config file is wrong"),
    "output-unusable": (2, "输出文件夹无法使用", "the output folder cannot be made or written"),
    "output-exists": (2, "会覆盖不是 fjvoucher 写的文件", "it would replace a file fjvoucher did not write"),
    "no-pattern": (2, "编号格式有误", "bad NO pattern"),
    "no-serial-left": (1, "编号已用尽", "no serial left"),
    "voucher-no-taken": (1, "凭证编号已被使用", "the NO is taken"),
    "voucher-not-found": (1, "台账中没有这张凭证", "no such voucher"),
    "voucher-wrong-status": (1, "凭证状态不允许这项操作", "the voucher's status does not allow it"),
    "certificate-in-force": (1, "证书已有有效凭证", "the certificate has a voucher in force"),
    "ledger-changed": (1, "名册内容与台账中的凭证不同", "the record differs from the voucher in force"),
    "ledger-retired": (1, "证书的凭证已作废或已换发", "the certificate's voucher was revoked or superseded"),
    "reason-required": (2, "需要写明原因", "a reason is required"),
    "confirmation-needed": (2, "需要确认", "confirmation needed"),
    "cancelled": (1, "已取消", "cancelled"),
    "reissue-no-photo": (2, "补发找不到持证人照片", "no photo for the reissue (give --photos or --no-photo)"),
    "usage": (2, "命令写法有误", "usage error"),
    "os-error": (1, "无法读写文件", "a file could not be read or written"),
    "encoding": (2, "文字编码出错", "encoding error"),
    "image-bomb": (2, "图片大得异常", "image too large"),
    "master-malformed": (1, "母版部件不是完整的 XML", "a part of the master is not well-formed XML"),
    "master-declarations": (1, "母版含有 DOCTYPE/ENTITY 声明", "the master holds XML declarations"),
    "master-encoding": (1, "母版部件不是 UTF-8", "a part of the master is not UTF-8"),
    "master-external": (1, "母版链接了外部内容", "the master links outside content"),
    "master-object": (1, "母版含有嵌入对象", "the master holds an embedded object"),
    "master-nested": (1, "母版嵌入了另一份文档", "the master nests another document"),
    "master-fields": (1, "母版含有引用外部内容的域", "the master has fields that include outside content"),
    "master-field-built": (1, "母版的域代码由另一个域生成", "a field's code is built by a nested field"),
    "master-fields-not-merged": (1, "母版在不填写的部件中有占位符", "placeholders where nothing is merged"),
    "master-output-unbounded": (1, "母版的占位符可能产生过大的结果", "a placeholder can grow without bound"),
    "master-output-too-large": (1, "凭证超出大小上限", "a voucher grew past its bound"),
    "master-duplicate-part": (1, "母版的部件重复", "a part of the master appears twice"),
    "master-part-too-large": (1, "母版的部件大得异常", "a part of the master is far too large"),
    "bug": (3, "程序内部错误", "an unexpected error (a bug)"),
}
