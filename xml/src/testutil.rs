//! What the crate's unit tests share.

/// The body of a recorded virsh fixture: drops the `$ virsh ...` line and the trailing
/// blank + `[exit=0]` lines.
pub(crate) fn strip_virsh(s: &str) -> String {
    let body = s.split_once('\n').map(|x| x.1).unwrap_or("");
    let end = body
        .rfind("\n\n[exit=")
        .expect("fixture has an exit marker");
    format!("{}\n", &body[..end])
}
