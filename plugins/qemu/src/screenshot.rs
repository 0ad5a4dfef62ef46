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

/// Where screen `screen` is: the QEMU id of the video device showing it and its head,
/// counting the heads of every video device in order; `Err` with libvirt's words.
fn locate(def: &DomainDef, screen: u32) -> Result<(String, u32), QemuError> {
    let mut left = screen;
    let mut any = false;
    let videos = def.devices.iter().filter_map(|d| match d {
        Device::Video(v) if v.model != "none" => Some(v),
        _ => None,
    });
    for (n, v) in videos.enumerate() {
        any = true;
        let heads = v.heads.unwrap_or(1);
        if left < heads {
            let id = v.info.alias.clone().unwrap_or_else(|| format!("video{n}"));
            return Ok((id, left));
        }
        left -= heads;
    }
    Err(QemuError::Invalid(
        if any {
            "no such screen ID"
        } else {
            "no screens to take screenshot from"
        }
        .into(),
    ))
}

/// DOMAIN_SCREENSHOT: the image, ready to stream.
pub fn take(drv: &Arc<Driver>, a: &RemoteDomainScreenshotArgs) -> QResult<Box<dyn Stream>> {
    check_flags(a.flags, 0, "qemuDomainScreenshot")?;
    let (qmp, name, (device, head)) = drv.read(|s| {
        let d = s.find(&a.dom)?;
        let run = d.run.as_ref().ok_or(QemuError::NotRunning)?;
        let place = locate(&run.live, a.screen)?;
        Ok((run.qmp.clone(), d.def.name.clone(), place))
    })?;
    // One file per request: two screenshots of a guest at once must not share it.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = drv.cfg.run_dir.join(format!("{name}.screendump-{n}.png"));
    let mut args = serde_json::json!({"filename": path, "format": "png"});
    if a.screen > 0 {
        args["device"] = device.into();
        args["head"] = head.into();
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
    fn screens_count_the_heads_of_every_video_device() {
        let def = |videos: &str| {
            DomainDef::parse(&format!(
                "<domain type='qemu'><name>s</name><memory>1024</memory>\
                 <os><type>hvm</type></os><devices>{videos}</devices></domain>"
            ))
            .unwrap()
        };
        let two = def("<video><model type='qxl' heads='2'/></video>\
                       <video><model type='virtio'/></video>");
        assert_eq!(locate(&two, 0).unwrap(), ("video0".to_string(), 0));
        assert_eq!(locate(&two, 1).unwrap(), ("video0".to_string(), 1));
        assert_eq!(locate(&two, 2).unwrap(), ("video1".to_string(), 0));
        assert_eq!(
            locate(&two, 3).unwrap_err().to_string(),
            "Requested operation is not valid: no such screen ID"
        );
        let none = def("");
        assert!(locate(&none, 0)
            .unwrap_err()
            .to_string()
            .ends_with("no screens to take screenshot from"));
    }

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
