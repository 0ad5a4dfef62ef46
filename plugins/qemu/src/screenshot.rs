//! `virsh screenshot`: DOMAIN_SCREENSHOT has QEMU write the screen as PNG (`screendump`)
//! and streams the file to the client, as libvirt does with QEMU 7.1 and later.

use std::sync::Arc;
use std::time::Duration;

use rvirt_plugin_api::protocol::{RemoteDomainScreenshotArgs, RemoteError};
use rvirt_plugin_api::sdk::{Stream, StreamChunk};
use rvirt_xml::domain::{Device, DomainDef};

use crate::driver::Driver;
use crate::error::{check_flags, QResult, QemuError};
use crate::lifecycle::monitor_error;

pub const MIME: &str = "image/png";

/// How many screens the guest has: the heads of its first video device.
fn screens(def: &DomainDef) -> u32 {
    def.devices
        .iter()
        .find_map(|d| match d {
            Device::Video(v) if v.model != "none" => Some(v.heads.unwrap_or(1)),
            _ => None,
        })
        .unwrap_or(0)
}

/// DOMAIN_SCREENSHOT: the image, ready to stream.
pub fn take(drv: &Arc<Driver>, a: &RemoteDomainScreenshotArgs) -> QResult<Box<dyn Stream>> {
    check_flags(a.flags, 0, "qemuDomainScreenshot")?;
    let (qmp, name) = drv.read(|s| {
        let d = s.find(&a.dom)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        match screens(&run.live) {
            0 => Err(QemuError::Invalid("no screens to take screenshot from".into()).into()),
            n if a.screen >= n => Err(QemuError::Invalid("no such screen ID".into()).into()),
            _ => Ok((run.qmp.clone(), d.def.name.clone())),
        }
    })?;
    let path = drv.cfg.run_dir.join(format!("{name}.screendump.png"));
    let mut args = serde_json::json!({"filename": path, "format": "png"});
    if a.screen > 0 {
        args["head"] = a.screen.into();
    }
    let taken = qmp.execute("screendump", Some(args)).map_err(monitor_error);
    let image = taken.and_then(|_| {
        std::fs::read(&path)
            .map_err(|e| QemuError::io(format!("unable to read {}", path.display()), &e).into())
    });
    let _ = std::fs::remove_file(&path);
    Ok(Box::new(Image {
        data: image?,
        at: 0,
    }))
}

/// A finished image, handed out in chunks.
struct Image {
    data: Vec<u8>,
    at: usize,
}

impl Stream for Image {
    fn recv(&mut self, max: usize, _wait: Duration) -> Result<StreamChunk, RemoteError> {
        if self.at >= self.data.len() {
            return Ok(StreamChunk::End);
        }
        let end = (self.at + max.max(1)).min(self.data.len());
        let chunk = self.data[self.at..end].to_vec();
        self.at = end;
        Ok(StreamChunk::Data(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_streams_in_chunks_then_ends() {
        let mut i = Image {
            data: (0u8..10).collect(),
            at: 0,
        };
        let w = Duration::ZERO;
        assert_eq!(i.recv(4, w).unwrap(), StreamChunk::Data(vec![0, 1, 2, 3]));
        assert_eq!(i.recv(4, w).unwrap(), StreamChunk::Data(vec![4, 5, 6, 7]));
        assert_eq!(i.recv(4, w).unwrap(), StreamChunk::Data(vec![8, 9]));
        assert_eq!(i.recv(4, w).unwrap(), StreamChunk::End);
    }
}
