//! A document as an A4 PDF, tagged for accessibility (PDF/UA-1, checked by
//! krilla's validator when the file is written: a file that would not
//! conform is not written at all).
//!
//! Two passes. The layout walks the letterhead, the module's blocks, the
//! signature and the verification box, and produces a display list of
//! marks (what is drawn on which page, as tagged content or as an
//! artifact) beside the logical structure (headings, paragraphs, tables
//! with their header cells, lists, the QR code as a figure with its
//! alternative text), in reading order. Once the number of pages is known,
//! each page gets its footer ("Page 1 sur 2", an artifact), and the marks
//! are drawn page by page; their identifiers then fill the structure tree.
//! Running headers, rules, backgrounds, the logo (the town's name is
//! printed beside it) and page numbers are artifacts: a screen reader
//! reads the document once, in order, without decoration.

mod draw;
mod flow;

use super::layout::DocumentTheme;
use crate::modules::Block;
use flow::Writer;

/// The town as the letterhead shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letterhead {
    pub town: String,
    pub address: Vec<String>,
    /// Phone, e-mail address, website, on one line.
    pub contact: Option<String>,
}

/// The resident the document is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: String,
    pub address: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// "Fait à Villeneuve, le 2 décembre 2026."
    pub place_and_date: String,
    pub title: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// "K7QF-3M2P-XW9A-TC4D".
    pub code: String,
    /// The verification page's address, with the code.
    pub url: String,
}

/// Everything a document's PDF shows.
#[derive(Debug, Clone)]
pub struct Sheet<'a> {
    pub letterhead: &'a Letterhead,
    pub recipient: &'a Recipient,
    pub title: &'a str,
    /// "A-2026-000042".
    pub number: &'a str,
    /// "2 décembre 2026".
    pub issued_on: &'a str,
    pub blocks: &'a [Block],
    pub signature: &'a Signature,
    pub verification: &'a Verification,
    pub issued_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A block a document cannot hold (a link, a form, an amount to pay).
    #[error("a document may not hold {0}")]
    Forbidden(&'static str),
    #[error("cannot write the PDF: {0}")]
    Pdf(String),
}

/// Checks that every block is one a document may hold.
pub fn check_blocks(blocks: &[Block]) -> Result<(), RenderError> {
    for block in blocks {
        match block {
            Block::Link(_) => return Err(RenderError::Forbidden("links")),
            Block::Form(_) => return Err(RenderError::Forbidden("forms")),
            Block::Payable(_) => return Err(RenderError::Forbidden("amounts to pay")),
            _ => {}
        }
    }
    Ok(())
}

/// The PDF of `sheet`, laid out by `theme`.
pub fn render(sheet: &Sheet<'_>, theme: &DocumentTheme) -> Result<Vec<u8>, RenderError> {
    check_blocks(sheet.blocks)?;
    let mut writer = Writer::new(theme, sheet);
    let roots = writer.document(sheet);
    if let Some(refused) = writer.refused.take() {
        return Err(refused);
    }
    writer.footers(sheet);
    writer.finish(roots, sheet)
}

#[cfg(test)]
mod tests {
    use super::flow::{Content, Writer};
    use super::*;
    use crate::modules::wit::v0_2::types::Table;
    use crate::modules::{KeyValue, Notice};
    use crate::modules::{Tone, Value};
    use crate::theme::{ThemeFiles, ThemeSet};
    use krilla::tagging::ArtifactType;

    fn theme(name: &str) -> DocumentTheme {
        let themes = ThemeSet::from_files(ThemeFiles::Embedded, false).unwrap();
        DocumentTheme::load(&themes.get(name), name).unwrap()
    }

    fn sheet_with<'a>(
        blocks: &'a [Block],
        letterhead: &'a Letterhead,
        recipient: &'a Recipient,
        signature: &'a Signature,
        verification: &'a Verification,
    ) -> Sheet<'a> {
        Sheet {
            letterhead,
            recipient,
            title: "Attestation de présence",
            number: "A-2026-000042",
            issued_on: "2 décembre 2026",
            blocks,
            signature,
            verification,
            issued_at: chrono::Utc::now(),
        }
    }

    fn render_blocks(blocks: &[Block]) -> Result<Vec<u8>, RenderError> {
        let letterhead = Letterhead {
            town: "Ville de Villeneuve".to_owned(),
            address: vec![
                "1 place de la Mairie".to_owned(),
                "00100 Villeneuve".to_owned(),
            ],
            contact: Some("Tél. 01 23 45 67 89".to_owned()),
        };
        let recipient = Recipient {
            name: "Madame Léa CŒUR".to_owned(),
            address: vec!["3 rue des Lilas".to_owned()],
        };
        let signature = Signature {
            place_and_date: "Fait à Villeneuve, le 2 décembre 2026.".to_owned(),
            title: Some("Le maire".to_owned()),
            name: Some("Claire MARTIN".to_owned()),
        };
        let verification = Verification {
            code: "K7QF-3M2P-XW9A-TC4D".to_owned(),
            url: "https://villeneuve.example.fr/documents/verifier/K7QF-3M2P-XW9A-TC4D".to_owned(),
        };
        render(
            &sheet_with(blocks, &letterhead, &recipient, &signature, &verification),
            &theme("villeneuve"),
        )
    }

    fn every_kind_of_block(rows: usize) -> Vec<Block> {
        vec![
            Block::Heading("Jours de présence".to_owned()),
            Block::Paragraph("Ville de Villeneuve atteste que Léa ARPEGE a fréquenté les activités ci-dessous — « cantine » comprise ; 1\u{202f}234,50\u{a0}€ 😀.".to_owned()),
            Block::KeyValues(vec![KeyValue {
                key: "Restauration scolaire".to_owned(),
                value: Value::Amount(123_456),
            }]),
            Block::Notice(Notice {
                tone: Tone::Warning,
                text: "Les jours fériés ne sont pas comptés.".to_owned(),
            }),
            Block::Items(vec!["Un premier point".to_owned(), "Un second".to_owned()]),
            Block::Table(Table {
                caption: "Détail".to_owned(),
                headers: vec!["Date".to_owned(), "Activité".to_owned(), "Montant".to_owned()],
                rows: (0..rows)
                    .map(|day| {
                        vec![
                            Value::Date(format!("2025-05-{:02}", day % 28 + 1)),
                            Value::Text("Accueil périscolaire du soir avec goûter".to_owned()),
                            Value::Amount(250),
                        ]
                    })
                    .collect(),
            }),
        ]
    }

    #[test]
    fn every_block_renders_as_a_tagged_pdf_ua_file() {
        let pdf = render_blocks(&every_kind_of_block(3)).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let text = String::from_utf8_lossy(&pdf);
        // Tagged, in French, PDF/UA-1 declared, the title shown.
        assert!(text.contains("/MarkInfo"), "tagged");
        assert!(text.contains("pdfuaid:part"), "PDF/UA identification");
        assert!(text.contains("/Lang(fr-FR)"), "language");
        assert!(text.contains("/DisplayDocTitle true"), "its title shown");
    }

    #[test]
    fn a_long_table_runs_over_pages_with_its_header_again() {
        let look = theme("default");
        let pages = |rows: usize| {
            let blocks = every_kind_of_block(rows);
            let letterhead = Letterhead {
                town: "Ville".to_owned(),
                address: Vec::new(),
                contact: None,
            };
            let recipient = Recipient {
                name: "Léa".to_owned(),
                address: Vec::new(),
            };
            let signature = Signature {
                place_and_date: "Fait.".to_owned(),
                title: None,
                name: None,
            };
            let verification = Verification {
                code: "K7QF-3M2P-XW9A-TC4D".to_owned(),
                url: "https://x/documents/verifier/K7QF-3M2P-XW9A-TC4D".to_owned(),
            };
            let sheet = sheet_with(&blocks, &letterhead, &recipient, &signature, &verification);
            let mut writer = Writer::new(&look, &sheet);
            writer.document(&sheet);
            let repeated = writer
                .marks
                .iter()
                .filter(|mark| {
                    matches!(
                        mark.content,
                        Content::Artifact(ArtifactType::PaginationOther)
                    )
                })
                .count();
            (writer.page + 1, repeated)
        };
        assert_eq!(pages(3), (1, 0));
        let (count, repeated) = pages(400);
        assert!(count >= 8, "{count} pages");
        // The table's header row on every page it continues on (the last
        // page may hold only the signature and the verification box).
        assert!(
            (count - 2..count).contains(&repeated),
            "{repeated} of {count}"
        );
        // And the file is written, however long.
        assert!(render_blocks(&every_kind_of_block(400)).is_ok());
    }

    #[test]
    fn what_cannot_be_laid_out_is_refused_not_drawn() {
        // More columns than fit the page.
        let wide = Block::Table(Table {
            caption: String::new(),
            headers: (0..40).map(|column| format!("C{column}")).collect(),
            rows: vec![(0..40).map(|_| Value::Text("x".to_owned())).collect()],
        });
        assert_eq!(
            render_blocks(&[wide]).unwrap_err(),
            RenderError::Forbidden("tables too wide for the page")
        );
        // A cell longer than a page.
        let long = Block::KeyValues(vec![KeyValue {
            key: "Note".to_owned(),
            value: Value::Text("mot ".repeat(3_000)),
        }]);
        assert_eq!(
            render_blocks(&[long]).unwrap_err(),
            RenderError::Forbidden("a table row longer than a page")
        );
        // Past fifty pages.
        let endless: Vec<Block> = (0..3_000)
            .map(|line| Block::Paragraph(format!("Ligne {line}.")))
            .collect();
        assert_eq!(
            render_blocks(&endless).unwrap_err(),
            RenderError::Forbidden("more than 50 pages")
        );
        // A huge word is cut, not a trap.
        let word = Block::Paragraph("x".repeat(20_000));
        assert!(render_blocks(&[word]).is_ok());
    }

    /// Whatever a module sends within a view's bounds, the renderer either
    /// writes a PDF or refuses the document: it never panics.
    #[test]
    fn random_content_is_written_or_refused_never_a_panic() {
        use rand::{RngExt as _, SeedableRng as _};
        let texts = [
            "",
            " ",
            "\t\n",
            "Léa ARPEGE",
            "Łucja DVOŘÁK",
            "مرحبا بالعالم",
            "漢字かな",
            "👩\u{200d}👩\u{200d}👧 famille",
            "e\u{301}\u{301}\u{301}",
            "\u{feff}\u{fffe}\u{0}\u{7}",
            "1\u{202f}234,50\u{a0}€",
            "«\u{a0}guillemets\u{a0}» — tiret",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_202);
        let pick = |rng: &mut rand::rngs::StdRng| -> String {
            let text = texts[rng.random_range(0..texts.len())];
            match rng.random_range(0..10) {
                0 => "x".repeat(rng.random_range(0..3_000)),
                1 => format!("{text} ").repeat(rng.random_range(1..60)),
                _ => text.to_owned(),
            }
        };
        for _ in 0..40 {
            let mut blocks = Vec::new();
            for _ in 0..rng.random_range(0..12) {
                let value =
                    |rng: &mut rand::rngs::StdRng, text: String| match rng.random_range(0..5) {
                        0 => Value::Amount(if rng.random_range(0..2) == 0 {
                            i64::MIN
                        } else {
                            rng.random_range(-10_000..10_000)
                        }),
                        1 => Value::Number(i64::MAX),
                        2 => Value::Date(text.clone()),
                        3 => Value::Status(Notice {
                            tone: Tone::Error,
                            text,
                        }),
                        _ => Value::Text(text),
                    };
                let block = match rng.random_range(0..6) {
                    0 => Block::Heading(pick(&mut rng)),
                    1 => Block::Paragraph(pick(&mut rng)),
                    2 => Block::Notice(Notice {
                        tone: Tone::Warning,
                        text: pick(&mut rng),
                    }),
                    3 => Block::Items(
                        (0..rng.random_range(0..5))
                            .map(|_| pick(&mut rng))
                            .collect(),
                    ),
                    4 => Block::KeyValues(
                        (0..rng.random_range(0..6))
                            .map(|_| {
                                let key = pick(&mut rng);
                                let text = pick(&mut rng);
                                KeyValue {
                                    key,
                                    value: value(&mut rng, text),
                                }
                            })
                            .collect(),
                    ),
                    _ => {
                        let columns = rng.random_range(0..8);
                        let headers = (0..rng.random_range(0..=columns))
                            .map(|_| pick(&mut rng))
                            .collect();
                        let rows = (0..rng.random_range(0..40))
                            .map(|_| {
                                (0..rng.random_range(0..=columns))
                                    .map(|_| {
                                        let text = pick(&mut rng);
                                        value(&mut rng, text)
                                    })
                                    .collect()
                            })
                            .collect();
                        Block::Table(Table {
                            caption: pick(&mut rng),
                            headers,
                            rows,
                        })
                    }
                };
                blocks.push(block);
            }
            match render_blocks(&blocks) {
                Ok(pdf) => assert!(pdf.starts_with(b"%PDF-")),
                Err(RenderError::Forbidden(_)) => {}
                Err(error) => panic!("{error} for {blocks:?}"),
            }
        }
    }

    #[test]
    fn a_document_holds_no_link_form_or_amount_to_pay() {
        let link = Block::Link(crate::modules::wit::v0_2::types::Link {
            label: "Ailleurs".to_owned(),
            view: "x".to_owned(),
            params: Vec::new(),
        });
        assert_eq!(
            render_blocks(&[link]).unwrap_err(),
            RenderError::Forbidden("links")
        );
        let payable = Block::Payable(crate::modules::Payable {
            reference: "F1".to_owned(),
            label: "Facture".to_owned(),
            amount: 100,
        });
        assert_eq!(
            check_blocks(&[payable]),
            Err(RenderError::Forbidden("amounts to pay"))
        );
    }

    #[test]
    fn every_built_in_theme_lays_documents_out() {
        for name in ["default", "villeneuve", "saint-martin"] {
            let look = theme(name);
            assert!(look.logo.is_some(), "{name}");
            assert!(look.layout.accent.contrast_with_white() >= 4.5, "{name}");
        }
        assert_ne!(
            theme("villeneuve").layout.accent,
            theme("saint-martin").layout.accent
        );
    }
}
