//! `guichet module check FILE.wasm`: the publication checks, without a
//! database and without publishing — what `module publish` would refuse,
//! each problem in one line, and what towns will read about the module.

use crate::modules::registry::{self, MAX_COMPONENT_BYTES};
use crate::modules::trust::{Provenance, PublisherTrust, TrustError};
use crate::modules::{Manifest, ModuleHost, Prepared};

/// What the checks found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub size: usize,
    /// The interface the component implements, once it is known.
    pub interface: Option<&'static str>,
    pub manifest: Option<Manifest>,
    /// What `publish` would refuse: one sentence each.
    pub problems: Vec<String>,
    /// What the signature proves here, in one line (not a problem by
    /// itself: whether an unsigned release is taken is each server's
    /// setting).
    pub signature: String,
}

/// Runs every check that can run: each stage needs the previous one (a
/// manifest is read from a component this host can load), so a failed
/// stage ends the report with its problem.
pub async fn check(
    host: &ModuleHost,
    bytes: &[u8],
    signature: Option<&str>,
    trust: &PublisherTrust,
) -> CheckReport {
    let mut report = CheckReport {
        size: bytes.len(),
        signature: signature_line(trust, bytes, signature),
        ..CheckReport::default()
    };
    if signature.is_some()
        && let Err(error @ (TrustError::Invalid { .. } | TrustError::SignatureFile(_))) =
            trust.judge(bytes, signature)
    {
        report.problems.push(format!("signature: {error}"));
    }
    let mut report = check_component(host, bytes, signature, trust, report).await;
    // One line each, whatever the engine's message held (a trap's
    // backtrace spans lines).
    for problem in &mut report.problems {
        *problem = problem.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    report
}

async fn check_component(
    host: &ModuleHost,
    bytes: &[u8],
    signature: Option<&str>,
    trust: &PublisherTrust,
    mut report: CheckReport,
) -> CheckReport {
    if bytes.len() > MAX_COMPONENT_BYTES {
        report.problems.push(format!(
            "size: the component weighs {} KiB; at most {} KiB are published (build with --release; strip debug information)",
            bytes.len() / 1024,
            MAX_COMPONENT_BYTES / 1024
        ));
        return report;
    }
    let sha256 = registry::sha256_hex(bytes);
    let pre = match host.prepare(&sha256, bytes).await {
        Ok(pre) => pre,
        Err(error) => {
            report.problems.push(format!("component: {error}"));
            return report;
        }
    };
    report.interface = Some(match &pre {
        Prepared::V0_1(_) => crate::modules::Interface::V0_1.as_str(),
        Prepared::V0_2(_) => crate::modules::Interface::V0_2.as_str(),
    });
    let manifest = match host.describe(&pre).await {
        Ok(manifest) => manifest,
        Err(failure) => {
            report
                .problems
                .push(format!("describe: the manifest cannot be read: {failure}"));
            return report;
        }
    };
    report.problems.extend(
        registry::manifest_problems(&manifest)
            .into_iter()
            .map(|problem| format!("manifest: {problem}")),
    );
    if crate::modules::FIRST_PARTY_MODULES
        .iter()
        .any(|module| module.id == manifest.id)
        && !registry::is_built_in(&sha256)
        && !matches!(trust.judge(bytes, signature), Ok(Provenance::Guichet))
    {
        report.problems.push(format!(
            "manifest: the id `{}` belongs to Guichet's own modules; give this module an id of its own",
            manifest.id
        ));
    }
    report.manifest = Some(manifest);
    report
}

fn signature_line(trust: &PublisherTrust, bytes: &[u8], signature: Option<&str>) -> String {
    match (signature, trust.judge(bytes, signature)) {
        (None, _) if !trust.allows_unsigned() => "none: servers that do not allow unsigned modules (this configuration does not) refuse it; sign it with `guichet module sign --key KEY FILE.wasm`".to_owned(),
        (None, _) => "none: taken here (allow_unsigned_modules), refused by servers that do not allow unsigned modules; sign it with `guichet module sign --key KEY FILE.wasm`".to_owned(),
        (Some(_), Ok(Provenance::Guichet)) => "signed with Guichet's key".to_owned(),
        (Some(_), Ok(Provenance::Signed { name, key })) => {
            format!("signed with key {}, trusted here as `{name}`", key.id)
        }
        (Some(text), Ok(Provenance::Unsigned) | Err(TrustError::UnknownKey { .. })) => {
            match crate::modules::minisign::Signature::parse(text) {
                Ok(signature) => format!(
                    "signed with key {}, which this configuration does not trust (an operator adds it to `module_publishers`)",
                    signature.key_id
                ),
                Err(error) => format!("unreadable: {error}"),
            }
        }
        (Some(_), Err(error)) => format!("refused: {error}"),
    }
}
