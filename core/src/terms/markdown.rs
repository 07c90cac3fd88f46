//! Terms are written in Markdown by the town; residents get HTML that can
//! carry no script: raw HTML is shown as text, and links keep only safe
//! schemes.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

fn safe_destination(url: &str) -> bool {
    let lowered = url.trim().to_ascii_lowercase();
    match lowered.split_once(':') {
        // A scheme: only these.
        Some((scheme, _))
            if !scheme.contains('/') && !scheme.contains('?') && !scheme.contains('#') =>
        {
            matches!(scheme, "http" | "https" | "mailto" | "tel")
        }
        // Relative links and anchors.
        _ => true,
    }
}

/// Markdown to HTML, without raw HTML and without unsafe links.
pub fn render(source: &str) -> String {
    let events = Parser::new_ext(source, Options::ENABLE_TABLES).map(|event| match event {
        Event::Html(html) | Event::InlineHtml(html) => Event::Text(html),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_destination(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_destination(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(source.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html = render("# PRÉAMBULE\n\nLa ville propose un **guichet**.\n\n- un\n- deux\n");
        assert!(html.contains("<h1>PRÉAMBULE</h1>"));
        assert!(html.contains("<strong>guichet</strong>"));
        assert!(html.contains("<li>un</li>"));
    }

    #[test]
    fn no_script_gets_through() {
        let attacks = [
            "<script>alert(1)</script>",
            "text <img src=x onerror=alert(1)> text",
            "[clic](javascript:alert(1))",
            "[clic](JaVaScRiPt:alert(1))",
            "![x](data:text/html;base64,PHNjcmlwdD4=)",
            "<a href=\"javascript:alert(1)\">x</a>",
        ];
        for attack in attacks {
            let html = render(attack);
            assert!(!html.contains("<script"), "{attack} → {html}");
            assert!(!html.contains("<img src=x"), "{attack} → {html}");
            assert!(
                !html.to_lowercase().contains("<a href=\"javascript:"),
                "{attack} → {html}"
            );
            assert!(!html.contains("src=\"data:"), "{attack} → {html}");
        }
        assert!(render("[site](https://example.fr)").contains("href=\"https://example.fr\""));
        assert!(render("[ici](#objet)").contains("href=\"#objet\""));
    }
}
