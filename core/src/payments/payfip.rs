//! PayFiP, the DGFiP's online payment of public debts: its SOAP web
//! service (`<base>/services/securite`, three operations) and its payment
//! page (`<base>/paiementws.web?idop=<idOp>`).
//!
//! The published WSDL points at schemas that cannot be fetched, so, as
//! every implementation does, the requests are written here from the
//! shape the service reads (`arg0` holding the fields, in the service's
//! namespace) and the answers are read by their elements' local names.
//! The parameters are checked here before anything is sent: a request
//! PayFiP would refuse is refused with the rule it breaks.

use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, TimeZone as _, Utc};

use super::provider::{
    Contract, ContractInfo, Created, Order, Outcome, PaymentProvider, ProviderError, Report,
    Settlement,
};

/// PayFiP's address (the service and the payment page are under it).
pub const DEFAULT_BASE_URL: &str = "https://www.payfip.gouv.fr/tpa";
/// How long a call may take: PayFiP's own guidance.
const TIMEOUT: Duration = Duration::from_secs(15);
/// The service's namespace.
const NS_SERVICE: &str = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService";
/// The smallest and largest amounts PayFiP collects, in cents.
pub const MIN_AMOUNT_CENTS: i64 = 100;
pub const MAX_AMOUNT_CENTS: i64 = 10_000_000;
/// Longest `objet`.
const MAX_OBJECT: usize = 100;

/// The PayFiP client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PayFiP {
    http: reqwest::Client,
    service_url: String,
    page_url: String,
}

impl PayFiP {
    /// `base_url`: PayFiP's (the default) or a server in its shape.
    pub fn new(base_url: &str) -> Result<Self, String> {
        let base = base_url.trim_end_matches('/');
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Self {
            http,
            service_url: format!("{base}/services/securite"),
            page_url: format!("{base}/paiementws.web"),
        })
    }

    /// Calls one operation; the answer's document, or its fault.
    async fn call(
        &self,
        operation: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, ProviderError> {
        let envelope = envelope(operation, fields);
        let response = self
            .http
            .post(&self.service_url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(envelope)
            .send()
            .await
            .map_err(|error| ProviderError::Unavailable(error.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| ProviderError::Unavailable(error.to_string()))?;
        // A SOAP fault comes with 500; anything else that is not a 200 is
        // the network's or a proxy's answer, not PayFiP's.
        if let Some(fault) = fault(&body) {
            return Err(fault);
        }
        if !status.is_success() {
            return Err(ProviderError::Unavailable(format!("HTTP {status}")));
        }
        Ok(body)
    }
}

impl PaymentProvider for PayFiP {
    fn page_url(&self, provider_id: &str) -> String {
        url::Url::parse_with_params(&self.page_url, [("idop", provider_id)])
            .map_or_else(|_| self.page_url.clone(), |url| url.to_string())
    }

    async fn create(&self, contract: &Contract, order: &Order) -> Result<Created, ProviderError> {
        let request = Request::check(contract, order).map_err(|rule| ProviderError::Refused {
            code: "guichet".to_owned(),
            label: rule,
        })?;
        let amount = request.amount.to_string();
        let year = order.year.to_string();
        let body = self
            .call(
                "creerPaiementSecurise",
                &[
                    ("exer", &year),
                    ("mel", &order.email),
                    ("montant", &amount),
                    ("numcli", &contract.numcli),
                    ("objet", &request.object),
                    ("refdet", &order.reference),
                    ("saisie", contract.saisie.code()),
                    ("urlnotif", &order.notify_url),
                    ("urlredirect", &order.return_url),
                ],
            )
            .await?;
        let fields = answer_fields(&body)?;
        let provider_id = field(&fields, "idOp")
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .ok_or_else(|| ProviderError::Protocol("no idOp in the answer".to_owned()))?;
        Ok(Created {
            provider_id: provider_id.to_owned(),
            redirect_url: self.page_url(provider_id),
        })
    }

    async fn report(&self, provider_id: &str) -> Result<Report, ProviderError> {
        let body = match self
            .call("recupererDetailPaiementSecurise", &[("idOp", provider_id)])
            .await
        {
            Ok(body) => body,
            Err(ProviderError::Refused { code, .. }) if code == "P5" => {
                return Ok(Report::NotYetKnown);
            }
            Err(ProviderError::Refused { code, .. }) if code == "P1" => {
                return Ok(Report::Unknown);
            }
            Err(error) => return Err(error),
        };
        let fields = answer_fields(&body)?;
        settlement(&fields).map(Report::Settled)
    }

    async fn check_contract(&self, contract: &Contract) -> Result<ContractInfo, ProviderError> {
        let body = self
            .call("recupererDetailClient", &[("numCli", &contract.numcli)])
            .await?;
        let fields = answer_fields(&body)?;
        let label = ["libelleN1", "libelleN2", "libelleN3"]
            .into_iter()
            .filter_map(|name| field(&fields, name))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(ContractInfo { label })
    }
}

/// A request's parameters as PayFiP takes them.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    object: String,
    amount: i64,
}

impl Request {
    /// Checks an order against PayFiP's rules; the rule broken, in French
    /// (the staff reads it on the payment's page).
    fn check(contract: &Contract, order: &Order) -> Result<Self, String> {
        if !is_numcli(&contract.numcli) {
            return Err("le numéro de client (numcli) doit compter 6 chiffres".to_owned());
        }
        if !is_refdet(&order.reference) {
            return Err(
                "la référence (refdet) doit compter de 1 à 30 lettres ou chiffres".to_owned(),
            );
        }
        if !(MIN_AMOUNT_CENTS..=MAX_AMOUNT_CENTS).contains(&order.amount_cents) {
            return Err("le montant doit aller de 1 € à 100 000 €".to_owned());
        }
        if !is_mel(&order.email) {
            return Err(
                "l'adresse électronique (mel) doit compter de 6 à 80 caractères et un @".to_owned(),
            );
        }
        if !(1000..=9999).contains(&order.year) {
            return Err("l'exercice (exer) doit être une année".to_owned());
        }
        Ok(Self {
            object: object(&order.object),
            amount: order.amount_cents,
        })
    }
}

/// 6 digits.
pub fn is_numcli(numcli: &str) -> bool {
    numcli.len() == 6 && numcli.bytes().all(|byte| byte.is_ascii_digit())
}

/// `^[A-Za-z0-9]{1,30}$`.
pub fn is_refdet(reference: &str) -> bool {
    (1..=30).contains(&reference.len())
        && reference.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

/// 6 to 80 characters with an `@`.
pub fn is_mel(email: &str) -> bool {
    (6..=80).contains(&email.chars().count()) && email.contains('@') && email.is_ascii()
}

/// PayFiP's `objet`: ASCII letters, digits and spaces, at most 100 —
/// accents folded ("Février" → "Fevrier"), apostrophes and dashes become
/// spaces, anything else is dropped, spaces collapsed.
pub fn object(label: &str) -> String {
    let folded = deunicode::deunicode(label);
    let mut object = String::with_capacity(folded.len());
    for character in folded.chars() {
        let character = match character {
            'A'..='Z' | 'a'..='z' | '0'..='9' => character,
            '\'' | '-' | ' ' | '\t' | '\n' | '/' | '_' | '.' | ',' | ':' => ' ',
            _ => continue,
        };
        if character == ' ' && (object.is_empty() || object.ends_with(' ')) {
            continue;
        }
        object.push(character);
    }
    let mut object: String = object.trim_end().chars().take(MAX_OBJECT).collect();
    while object.ends_with(' ') {
        object.pop();
    }
    object
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(character),
        }
    }
    escaped
}

/// The SOAP 1.1 envelope of an operation.
fn envelope(operation: &str, fields: &[(&str, &str)]) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:pai=\"{NS_SERVICE}\"><soapenv:Body><pai:{operation}><arg0>"
    );
    for (name, value) in fields {
        xml.push_str(&format!("<{name}>{}</{name}>", escape(value)));
    }
    xml.push_str(&format!(
        "</arg0></pai:{operation}></soapenv:Body></soapenv:Envelope>"
    ));
    xml
}

/// The fault of an answer, if it is one: a `FonctionnelleErreur` is a
/// refusal (its code and label); a technical fault (malfunction,
/// unavailability, protocol) is the service's unavailability.
fn fault(body: &str) -> Option<ProviderError> {
    let document = roxmltree::Document::parse(body).ok()?;
    let fault = document
        .descendants()
        .find(|node| node.is_element() && node.tag_name().name() == "Fault")?;
    let text_of = |parent: roxmltree::Node, name: &str| {
        parent
            .descendants()
            .find(|node| node.is_element() && node.tag_name().name() == name)
            .and_then(|node| node.text())
            .map(|text| text.trim().to_owned())
    };
    let faultstring = text_of(fault, "faultstring").unwrap_or_default();
    if let Some(functional) = fault
        .descendants()
        .find(|node| node.is_element() && node.tag_name().name() == "FonctionnelleErreur")
    {
        let code = text_of(functional, "code").unwrap_or_default();
        let label = text_of(functional, "libelle")
            .filter(|label| !label.is_empty())
            .or_else(|| text_of(functional, "descriptif"))
            .unwrap_or_default();
        return Some(ProviderError::Refused { code, label });
    }
    let technical = fault
        .descendants()
        .find(|node| node.is_element() && node.tag_name().name().starts_with("Tech"))
        .map(|node| node.tag_name().name().to_owned());
    Some(ProviderError::Unavailable(match technical {
        Some(kind) => format!("{kind}: {faultstring}"),
        None => faultstring,
    }))
}

/// The elements under the answer's `return`, by local name.
fn answer_fields(body: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let document = roxmltree::Document::parse(body)
        .map_err(|error| ProviderError::Protocol(format!("not XML: {error}")))?;
    let answer = document
        .descendants()
        .find(|node| node.is_element() && node.tag_name().name() == "return")
        .ok_or_else(|| ProviderError::Protocol("no `return` in the answer".to_owned()))?;
    Ok(answer
        .children()
        .filter(roxmltree::Node::is_element)
        .map(|node| {
            (
                node.tag_name().name().to_owned(),
                node.text().unwrap_or_default().trim().to_owned(),
            )
        })
        .collect())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// `recupererDetailPaiementSecurise`'s answer.
fn settlement(fields: &[(String, String)]) -> Result<Settlement, ProviderError> {
    let code = field(fields, "resultrans").unwrap_or_default().to_owned();
    let outcome = match code.as_str() {
        "P" => Outcome::PaidByCard,
        "V" => Outcome::PaidByDirectDebit,
        "R" => Outcome::CardRefused,
        "Z" => Outcome::DirectDebitRefused,
        "A" => Outcome::Cancelled,
        other => {
            return Err(ProviderError::Protocol(format!(
                "unknown resultrans `{other}`"
            )));
        }
    };
    let authorization = field(fields, "numauto")
        .map(str::trim)
        .filter(|number| !number.is_empty())
        .map(|number| number.chars().take(32).collect());
    Ok(Settlement {
        outcome,
        code,
        authorization,
        at: paid_at(
            field(fields, "dattrans").unwrap_or_default(),
            field(fields, "heurtrans").unwrap_or_default(),
        ),
        amount_cents: field(fields, "montant").and_then(|amount| amount.trim().parse().ok()),
        reference: field(fields, "refdet").unwrap_or_default().to_owned(),
        numcli: field(fields, "numcli").unwrap_or_default().to_owned(),
        provider_id: field(fields, "idOp").unwrap_or_default().to_owned(),
    })
}

/// `dattrans` (DDMMYYYY) and `heurtrans` (HHMM), in Paris time.
fn paid_at(date: &str, time: &str) -> Option<chrono::DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(date.trim(), "%d%m%Y").ok()?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H%M").unwrap_or(NaiveTime::MIN);
    chrono_tz::Europe::Paris
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|local| local.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::Saisie;

    fn order() -> Order {
        Order {
            reference: "2026060042".to_owned(),
            object: "Facture 2026-06-0042 — Juin".to_owned(),
            amount_cents: 4500,
            email: "michel@example.org".to_owned(),
            year: 2026,
            notify_url: "http://villeneuve.localhost/paiements/notification".to_owned(),
            return_url: "http://villeneuve.localhost/paiements/retour/1".to_owned(),
        }
    }

    fn contract() -> Contract {
        Contract {
            numcli: "123456".to_owned(),
            saisie: Saisie::Test,
        }
    }

    #[test]
    fn the_object_is_folded_to_what_payfip_reads() {
        assert_eq!(
            object("Facture 2026-06-0042 — Février, l'accueil « périscolaire »"),
            "Facture 2026 06 0042 Fevrier l accueil periscolaire"
        );
        assert_eq!(object("  ¤¤  "), "");
        let long = object(&"é".repeat(150));
        assert_eq!(long.len(), 100);
        assert!(object(&"ab ".repeat(60)).len() <= 100);
        assert!(!object(&"ab ".repeat(60)).ends_with(' '));
    }

    #[test]
    fn orders_are_checked_against_payfips_rules() {
        assert_eq!(
            Request::check(&contract(), &order()),
            Ok(Request {
                object: "Facture 2026 06 0042 Juin".to_owned(),
                amount: 4500
            })
        );
        let refused = |order: Order, contract: Contract| Request::check(&contract, &order).is_err();
        assert!(refused(
            Order {
                reference: "2026-06".to_owned(),
                ..order()
            },
            contract()
        ));
        assert!(refused(
            Order {
                reference: "A".repeat(31),
                ..order()
            },
            contract()
        ));
        assert!(refused(
            Order {
                amount_cents: 99,
                ..order()
            },
            contract()
        ));
        assert!(refused(
            Order {
                amount_cents: 10_000_001,
                ..order()
            },
            contract()
        ));
        assert!(refused(
            Order {
                email: "a@b.c".to_owned(),
                ..order()
            },
            contract()
        ));
        assert!(refused(
            order(),
            Contract {
                numcli: "12345".to_owned(),
                ..contract()
            }
        ));
    }

    #[test]
    fn requests_are_escaped() {
        let xml = envelope("creerPaiementSecurise", &[("mel", "a<b>&\"c'@d.fr")]);
        assert!(
            xml.contains("<mel>a&lt;b&gt;&amp;&quot;c&apos;@d.fr</mel>"),
            "{xml}"
        );
        assert!(roxmltree::Document::parse(&xml).is_ok());
    }

    #[test]
    fn answers_and_faults_are_read() -> Result<(), ProviderError> {
        let answer = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2="x"><return xmlns:r="y"><r:dattrans>02122026</r:dattrans><r:exer>2026</r:exer><r:heurtrans>1015</r:heurtrans><r:idOp>abc</r:idOp><r:mel>m@e.org</r:mel><r:montant>4500</r:montant><r:numauto>123456</r:numauto><r:numcli>123456</r:numcli><r:objet>Facture</r:objet><r:refdet>2026060042</r:refdet><r:resultrans>P</r:resultrans><r:saisie>T</r:saisie></return></ns2:recupererDetailPaiementSecuriseResponse></soap:Body></soap:Envelope>"#;
        let settled = settlement(&answer_fields(answer)?)?;
        assert_eq!(settled.outcome, Outcome::PaidByCard);
        assert_eq!(settled.amount_cents, Some(4500));
        assert_eq!(settled.authorization.as_deref(), Some("123456"));
        assert_eq!(
            settled.at.map(|at| at.to_rfc3339()).as_deref(),
            Some("2026-12-02T09:15:00+00:00")
        );
        let p5 = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur</faultstring><detail><ns2:FonctionnelleErreur xmlns:ns2="y"><code>P5</code><descriptif>d</descriptif><libelle>Résultat de la transaction non connu</libelle><severite>2</severite></ns2:FonctionnelleErreur></detail></soap:Fault></soap:Body></soap:Envelope>"#;
        assert_eq!(
            fault(p5),
            Some(ProviderError::Refused {
                code: "P5".to_owned(),
                label: "Résultat de la transaction non connu".to_owned()
            })
        );
        let down = p5
            .replace("FonctionnelleErreur", "TechIndisponibiliteErreur")
            .replace("<code>P5</code>", "<code>T1</code>");
        assert!(matches!(fault(&down), Some(ProviderError::Unavailable(_))));
        assert_eq!(fault(answer), None);
        assert!(answer_fields("<html>").is_err());
        let unknown = answer.replace("<r:resultrans>P<", "<r:resultrans>Q<");
        assert!(settlement(&answer_fields(&unknown)?).is_err());
        Ok(())
    }
}
