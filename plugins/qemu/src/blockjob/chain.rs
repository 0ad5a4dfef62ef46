//! A disk's backing chain as QEMU has it open (`query-block`), and libvirt's lookups of
//! the `top` and `base` images in it.

use serde_json::Value;

use rvirt_xml::domain::Disk;

use super::BlockJobError;
use crate::qmp::{Qmp, QmpError};

/// One image of the chain, top first.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub path: String,
    pub format: String,
}

/// A disk's device in QEMU: the node its frontend uses and the chain under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub node: String,
    pub layers: Vec<Layer>,
    /// The top image's virtual size in bytes.
    pub size: u64,
}

/// The `query-block` entry of disk `k`: by its alias in the frontend's QOM path, else by
/// its top file.
fn entry<'a>(blocks: &'a [Value], k: &Disk) -> Option<&'a Value> {
    let by_alias = k.info.alias.as_deref().and_then(|alias| {
        let needle = format!("/{alias}/");
        blocks.iter().find(|b| {
            b.get("qdev")
                .and_then(Value::as_str)
                .is_some_and(|q| q.contains(&needle) || q == alias)
        })
    });
    by_alias.or_else(|| {
        let src = k.source.as_deref()?;
        blocks
            .iter()
            .find(|b| b["inserted"]["file"].as_str() == Some(src))
    })
}

/// The chain of an entry's `inserted.image`, top first.
fn layers(image: &Value) -> Vec<Layer> {
    let mut out = Vec::new();
    let mut at = Some(image);
    while let Some(img) = at {
        let Some(path) = img.get("filename").and_then(Value::as_str) else {
            break;
        };
        out.push(Layer {
            path: path.to_string(),
            format: img["format"].as_str().unwrap_or("raw").to_string(),
        });
        at = img.get("backing-image");
    }
    out
}

/// The running disk's chain.
pub fn of(qmp: &Qmp, k: &Disk) -> Result<Option<Chain>, QmpError> {
    Ok(in_blocks(&query_blocks(qmp)?, k))
}

/// QEMU's `query-block` answer: one entry per block device.
pub fn query_blocks(qmp: &Qmp) -> Result<Vec<Value>, QmpError> {
    let blocks = qmp.execute("query-block", None)?;
    Ok(match blocks {
        Value::Array(v) => v,
        _ => Vec::new(),
    })
}

/// Disk `k`'s chain in a `query-block` answer.
pub fn in_blocks(blocks: &[Value], k: &Disk) -> Option<Chain> {
    let inserted = entry(blocks, k)?.get("inserted")?;
    Some(Chain {
        node: inserted.get("node-name")?.as_str()?.to_string(),
        layers: layers(&inserted["image"]),
        size: inserted["image"]["virtual-size"].as_u64().unwrap_or(0),
    })
}

/// The chain libvirt knows of a shut-off domain's disk: its source alone.
pub fn offline(k: &Disk) -> Chain {
    let format = k
        .driver
        .as_ref()
        .and_then(|d| d.format.clone())
        .unwrap_or_else(|| "raw".into());
    Chain {
        node: String::new(),
        size: 0,
        layers: k
            .source
            .iter()
            .map(|p| Layer {
                path: p.clone(),
                format: format.clone(),
            })
            .collect(),
    }
}

impl Chain {
    fn position(&self, path: &str, from: usize) -> Option<usize> {
        (from..self.layers.len()).find(|&i| same_image(&self.layers[i].path, path))
    }

    /// The index of `top` (the active layer when none is given).
    pub fn top(&self, top: Option<&str>, dev: &str) -> Result<usize, BlockJobError> {
        match top {
            None => Ok(0),
            Some(t) => self
                .position(t, 0)
                .ok_or_else(|| BlockJobError::NoImage(t.into(), dev.into())),
        }
    }

    /// The index of `base` strictly beneath layer `top`; none given: the deepest image
    /// beneath it when `deepest`, else none (a pull of everything).
    pub fn base(
        &self,
        base: Option<&str>,
        top: usize,
        dev: &str,
        deepest: bool,
    ) -> Result<Option<usize>, BlockJobError> {
        match base {
            Some(b) => self.position(b, top + 1).map(Some).ok_or_else(|| {
                BlockJobError::NotBeneath(b.into(), self.layers[top].path.clone(), dev.into())
            }),
            None if !deepest => Ok(None),
            None if self.layers.len() > top + 1 => Ok(Some(self.layers.len() - 1)),
            None => Err(BlockJobError::NoBase(dev.into())),
        }
    }
}

/// Whether two paths name the same image (as written, or the same file).
fn same_image(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(paths: &[&str]) -> Chain {
        Chain {
            node: "libvirt-1-format".into(),
            size: 0,
            layers: paths
                .iter()
                .map(|p| Layer {
                    path: p.to_string(),
                    format: "qcow2".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn lookups_follow_libvirts_rules() {
        let c = chain(&["/t", "/m", "/b"]);
        assert_eq!(c.top(None, "vda").unwrap(), 0);
        assert_eq!(c.top(Some("/m"), "vda").unwrap(), 1);
        assert_eq!(
            c.top(Some("/x"), "vda").unwrap_err().to_string(),
            "invalid argument: could not find image '/x' in chain for 'vda'"
        );
        assert_eq!(c.base(None, 0, "vda", true).unwrap(), Some(2));
        assert_eq!(c.base(None, 0, "vda", false).unwrap(), None);
        assert_eq!(
            c.base(Some("/m"), 1, "vda", true).unwrap_err().to_string(),
            "invalid argument: could not find image '/m' beneath '/m' in chain for 'vda'"
        );
        assert_eq!(
            chain(&["/t"])
                .base(None, 0, "vda", true)
                .unwrap_err()
                .to_string(),
            "invalid argument: could not find base image in chain for 'vda'"
        );
    }

    #[test]
    fn query_block_image_becomes_layers() {
        let img = serde_json::json!({"filename": "/t", "format": "qcow2",
            "backing-image": {"filename": "/b", "format": "raw"}});
        assert_eq!(
            layers(&img),
            vec![
                Layer {
                    path: "/t".into(),
                    format: "qcow2".into()
                },
                Layer {
                    path: "/b".into(),
                    format: "raw".into()
                }
            ]
        );
    }
}
