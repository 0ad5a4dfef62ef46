//! Bulk domain statistics (`virConnectGetAllDomainStats`, `virDomainListGetStats`).
//!
//! libvirt's test driver offers exactly two stats groups: `state` (the state and its
//! reason, for every domain) and `iothread` (running domains with IOThreads). rvirt's
//! domain model keeps no IOThreads, so the `iothread` group is always empty, which is
//! what libvirt reports for a domain without them (`test:///default`'s `test` included).

use rvirt_plugin_api::protocol::{
    RemoteDomainStatsRecord, RemoteNonnullDomain, RemoteTypedParam, RemoteTypedParamValue,
};

use crate::domain::dom_ref;
use crate::domain_info::matches;
use crate::error::{check_flags, TestError, TestResult};
use crate::state::{Domain, Inner};

use rvirt_plugin_api::protocol::facts::domain_stats::{BACKING, LIST_FILTERS, NOWAIT};
pub use rvirt_plugin_api::protocol::facts::domain_stats::{
    ENFORCE_STATS, IOTHREAD as STATS_IOTHREAD, STATE as STATS_STATE,
};

/// The groups this driver can report.
const SUPPORTED: u32 = STATS_STATE | STATS_IOTHREAD;

fn int(field: &str, v: i32) -> RemoteTypedParam {
    RemoteTypedParam {
        field: field.into(),
        value: RemoteTypedParamValue::Int(v),
    }
}

/// The record of one domain with the requested groups.
fn record(d: &Domain, stats: u32) -> RemoteDomainStatsRecord {
    let mut params = Vec::new();
    if stats & STATS_STATE != 0 {
        params.push(int("state.state", d.state));
        params.push(int("state.reason", d.reason));
    }
    // STATS_IOTHREAD: no domain has IOThreads here, and libvirt adds nothing then.
    RemoteDomainStatsRecord {
        dom: dom_ref(d),
        params,
    }
}

/// Statistics of `doms` (every domain when empty), filtered by the listing flags in
/// `flags`. Domains of `doms` that no longer exist are skipped, as libvirt does.
pub fn get_all(
    s: &Inner,
    doms: &[RemoteNonnullDomain],
    stats: u32,
    flags: u32,
) -> TestResult<Vec<RemoteDomainStatsRecord>> {
    check_flags(
        flags,
        LIST_FILTERS | NOWAIT | BACKING | ENFORCE_STATS,
        "testConnectGetAllDomainStats",
    )?;
    let lflags = flags & LIST_FILTERS;
    let stats = if stats == 0 {
        SUPPORTED
    } else if flags & ENFORCE_STATS != 0 && stats & !SUPPORTED != 0 {
        return Err(TestError::ArgUnsupported(format!(
            "Stats types bits {:#x} are not supported by this daemon",
            stats & !SUPPORTED
        ))
        .into());
    } else {
        stats
    };
    let selected: Vec<&Domain> = if doms.is_empty() {
        s.domains.iter().collect()
    } else {
        doms.iter()
            .filter_map(|r| s.domains.by_uuid(&r.uuid))
            .collect()
    };
    Ok(selected
        .into_iter()
        .filter(|d| matches(d, lflags))
        .map(|d| record(d, stats))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{destroy, lookup_by_name};
    use crate::state::Driver;

    fn fields(r: &RemoteDomainStatsRecord) -> Vec<String> {
        r.params
            .iter()
            .map(|p| match &p.value {
                RemoteTypedParamValue::Int(v) => format!("{}={v}", p.field),
                other => format!("{}={other:?}", p.field),
            })
            .collect()
    }

    #[test]
    fn default_domain_reports_state_only() {
        let d = Driver::new_default();
        let recs = d.read(|s| get_all(s, &[], 0, 0)).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!((recs[0].dom.name.as_str(), recs[0].dom.id), ("test", 1));
        assert_eq!(fields(&recs[0]), ["state.state=1", "state.reason=0"]);
        // Only the iothread group: nothing to report.
        let recs = d.read(|s| get_all(s, &[], STATS_IOTHREAD, 0)).unwrap();
        assert!(recs[0].params.is_empty());
        // Unknown groups are ignored unless enforced.
        let recs = d.read(|s| get_all(s, &[], 0x2 | STATS_STATE, 0)).unwrap();
        assert_eq!(recs[0].params.len(), 2);
    }

    #[test]
    fn matches_virsh_fixture() {
        let want = crate::testutil::fixture("domstats-test.txt");
        let d = Driver::new_default();
        let recs = d.read(|s| get_all(s, &[], 0, 0)).unwrap();
        let mut got = format!("Domain: '{}'\n", recs[0].dom.name);
        for f in fields(&recs[0]) {
            got.push_str(&format!("  {f}\n"));
        }
        assert_eq!(got, want);
    }

    #[test]
    fn enforce_and_flags() {
        let d = Driver::new_default();
        let e = d.read(|s| get_all(s, &[], 0x6, ENFORCE_STATS)).unwrap_err();
        assert_eq!(e.code, 74);
        assert_eq!(
            e.text(),
            "argument unsupported: Stats types bits 0x6 are not supported by this daemon"
        );
        let e = d.read(|s| get_all(s, &[], 0, 0x100)).unwrap_err();
        assert_eq!(
            e.text(),
            "unsupported flags (0x100) in function testConnectGetAllDomainStats"
        );
        assert!(d.read(|s| get_all(s, &[], 0, NOWAIT | BACKING)).is_ok());
    }

    #[test]
    fn list_and_filters() {
        let d = Driver::new_default();
        d.write(|s, e| {
            let r = lookup_by_name(s, "test")?;
            // Active filter (VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1, INACTIVE = 2).
            assert_eq!(get_all(s, &[], 0, 1)?.len(), 1);
            assert_eq!(get_all(s, &[], 0, 2)?.len(), 0);
            destroy(s, e, &r, 0)?;
            let recs = get_all(s, std::slice::from_ref(&r), STATS_STATE, 0)?;
            assert_eq!(recs[0].dom.id, -1);
            assert_eq!(fields(&recs[0]), ["state.state=5", "state.reason=2"]);
            assert_eq!(get_all(s, &[], 0, 0x40)?.len(), 1);
            // A domain that does not exist is skipped.
            let gone = RemoteNonnullDomain {
                name: "gone".into(),
                uuid: [7; 16],
                id: -1,
            };
            assert_eq!(get_all(s, &[gone, r], 0, 0)?.len(), 1);
            Ok(())
        })
        .unwrap();
    }
}
