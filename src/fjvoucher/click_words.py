"""click's own words (usage, errors, help options) in Chinese with the English beside them.

click marks its messages for gettext but ships no translations; the CLI hands these to click's
modules so that "Missing argument" and "Usage:" read in Chinese too.  No click import here.
"""

WORDS = {
    "Usage:": "用法 Usage:",
    "Options": "选项 Options",
    "Commands": "命令 Commands",
    "Show this message and exit.": "显示本帮助 · Show this message and exit.",
    "Show the version and exit.": "显示版本 · Show the version and exit.",
    "Error: {message}": "错误 Error: {message}",
    "Aborted!": "已取消 Aborted!",
    # click writes "{missing} '--month'.": the English would sit between the words and the option's name.
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing command.": "缺少命令 Missing command.",
    "No such command {name!r}.": "没有这个命令 {name!r} (no such command).",
    "No such option {name!r}.": "没有这个选项 {name!r} (no such option).",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助 (try it for help).",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值不对 (invalid value): {message}",
    "Invalid value: {message}": "值不对 Invalid value: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数 (not a valid {number_type}).",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内 (out of range).",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在 (does not exist).",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹，不是文件 (is a directory).",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是文件夹 (is a file).",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取 (not readable).",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入 (not writable).",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值 (takes no value).",
    "Choose from:\n\t{choices}": "可选 Choose from:\n\t{choices}",
    "default: {default}": "默认 default: {default}",
    "Do you want to continue?": "继续吗？Continue?",
}
PLURAL_WORDS = {  # (singular, plural): Chinese has one form
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."):
        "选项 {name!r} 需要给出值 (requires a value).",
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"):
        "多出了参数 ({args}) (unexpected extra arguments)",
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"):
        "您是不是要输入 {possibilities}？",
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."):
        "{value!r} 不是可选值之一：{choices} (not one of the choices).",
}
