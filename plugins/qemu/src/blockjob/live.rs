//! The backing chains libvirt's live XML shows: each image of each disk gets an index
//! when QEMU starts (top first, disk by disk: `libvirt-1-format` is index 1), a copy's
//! target the next one; a job that ends changes the chain without asking QEMU.

use rvirt_xml::domain::{ChainImage, DomainDef};

use super::chain::{self, Chain};
use crate::driver::Run;
use crate::qmp::Qmp;

/// Every disk's chain (as QEMU opened it) with indexes, and the next free index.
pub fn at_start(qmp: &Qmp, live: &DomainDef) -> (Vec<(String, Vec<ChainImage>)>, u32) {
    let mut next = 1;
    let mut out = Vec::new();
    let blocks = chain::query_blocks(qmp).unwrap_or_default();
    for k in live.disks() {
        let Some(c) = chain::in_blocks(&blocks, k) else {
            continue;
        };
        let images = c
            .layers
            .iter()
            .map(|l| {
                next += 1;
                ChainImage {
                    index: next - 1,
                    format: l.format.clone(),
                    path: l.path.clone(),
                }
            })
            .collect();
        out.push((k.target_dev.clone(), images));
    }
    (out, next)
}

/// The disk's indexed chain when it matches what QEMU reports now.
fn indexed<'a>(run: &'a Run, dev: &str, c: &Chain) -> Option<&'a [ChainImage]> {
    let (_, images) = run.chains.iter().find(|(d, _)| d == dev)?;
    let same = images.len() == c.layers.len()
        && images.iter().zip(&c.layers).all(|(i, l)| i.path == l.path);
    same.then_some(images.as_slice())
}

/// The chain after a job that keeps layers `..=keep_top` and `from..` (a pull keeps the
/// top, a commit the layers above its top; both keep the base and what is below it).
pub fn after(
    run: &Run,
    dev: &str,
    c: &Chain,
    keep: usize,
    from: Option<usize>,
) -> Option<Vec<ChainImage>> {
    let images = indexed(run, dev, c)?;
    let mut out = images[..keep].to_vec();
    if let Some(b) = from {
        out.extend_from_slice(&images[b..]);
    }
    Some(out)
}

/// A new image's chain (a copy's target), taking the next index.
pub fn fresh(run: &mut Run, path: &str, format: &str) -> Vec<ChainImage> {
    let index = run.next_index;
    run.next_index += 1;
    vec![ChainImage {
        index,
        format: format.to_string(),
        path: path.to_string(),
    }]
}

/// Replaces the disk's chain.
pub fn set(run: &mut Run, dev: &str, images: Vec<ChainImage>) {
    match run.chains.iter_mut().find(|(d, _)| d == dev) {
        Some((_, c)) => *c = images,
        None => run.chains.push((dev.to_string(), images)),
    }
}

/// The live definition with every known chain filled in, for the live XML.
pub fn with_chains(run: &Run) -> DomainDef {
    let mut def = run.live.clone();
    for d in &mut def.devices {
        if let rvirt_xml::domain::Device::Disk(k) = d {
            if let Some((_, c)) = run.chains.iter().find(|(dev, _)| *dev == k.target_dev) {
                if k.source.as_deref() == c.first().map(|i| i.path.as_str()) {
                    k.live_chain = c.clone();
                }
            }
        }
    }
    def
}
