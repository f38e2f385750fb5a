import Foundation

/// Text made safe to place in HTML content or a quoted attribute.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}

/// A whole page: the layout around `body`, in `language`. With a session, the header names the
/// person and offers sign-out (a form with the session's CSRF token).
struct Page {
    var language: ConsoleLanguage
    var title: Phrase
    var body: String
    var session: ConsoleSession?

    var html: String {
        let t = { (phrase: Phrase) in escape(text(phrase, language)) }
        // Tables and preformatted text scroll sideways on a narrow screen; a region that scrolls
        // must be reachable by keyboard.
        let body = self.body.replacingOccurrences(of: "<table", with: "<table tabindex=\"0\"")
            .replacingOccurrences(of: "<pre", with: "<pre tabindex=\"0\"")
        var header = "<a class=\"brand\" href=\"/console/\">\(t(.productName))</a>"
        let other: ConsoleLanguage = language == .zh ? .en : .zh
        header += "<nav aria-label=\"\(t(.navigation))\">"
        if let session {
            header += "<a href=\"/console/audit\">\(t(.auditTitle))</a>"
            header += "<span class=\"who\">\(escape(session.displayName))</span>"
            header += """
                <form method="post" action="/console/sign-out" class="inline">\
                <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">\
                <button type="submit">\(t(.signOutButton))</button></form>
                """
        }
        header += "<a lang=\"\(other.tag)\" href=\"/console/language?to=\(other.switchValue)\">\(t(.switchLanguage))</a>"
        header += "</nav>"
        return """
            <!doctype html>
            <html lang="\(language.tag)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(t(title)) · \(t(.productName))</title>
            <link rel="stylesheet" href="/console/style.css">
            </head>
            <body>
            <header>\(header)</header>
            <main>
            <h1>\(t(title))</h1>
            \(body)
            </main>
            </body>
            </html>

            """
    }
}

/// The one stylesheet.
let stylesheet = """
    :root { color-scheme: light; --ink: #1d2733; --muted: #5b6776; --line: #d5dbe3; --accent: #b3261e; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 16px/1.6 system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: var(--ink); }
    header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
    header nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
    .brand { font-weight: 600; color: var(--accent); text-decoration: none; }
    .who { color: var(--muted); }
    main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
    form.inline { display: inline; margin: 0; }
    label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
    input[type=password], input[type=text] { width: 100%; max-width: 32rem; padding: .5rem; font: inherit; border: 1px solid var(--line); border-radius: 4px; }
    button { padding: .4rem 1rem; font: inherit; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
    header button { background: transparent; color: var(--accent); }
    .notice { padding: .75rem 1rem; border-left: 4px solid #2e7d32; background: #edf7ed; }
    fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 1rem 0; }
    label.choice { display: inline; font-weight: normal; margin-right: 1.5rem; }
    textarea { width: 100%; max-width: 40rem; font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 4px; }
    .error { padding: .75rem 1rem; border-left: 4px solid var(--accent); background: #fdecea; }
    dl { display: grid; grid-template-columns: fit-content(45%) minmax(0, 1fr); gap: .25rem 1.5rem; }
    select { padding: .45rem; font: inherit; border: 1px solid var(--line); border-radius: 4px; max-width: 100%; }
    dt { color: var(--muted); }
    dd { margin: 0; overflow-wrap: anywhere; }
    table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; font-size: .9rem; }
    th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
    form.filter { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: 0 1rem; align-items: end; }
    form.filter label { margin-top: .5rem; }
    input[type=date] { padding: .45rem; font: inherit; border: 1px solid var(--line); border-radius: 4px; }
    .money { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    #revenue-chart { max-width: 100%; height: auto; }
    .sensitive { color: var(--accent); }
    pre { padding: 1rem; background: #f4f6f8; border: 1px solid var(--line); border-radius: 4px; overflow-x: auto; }

    """
