//! The test lab itself (tests/src/lab.rs): a guest boots, loads the device-mapper
//! modules, runs host programs with their libraries and reports back.

use std::time::Duration;

use rvirt_tests::lab::Lab;

#[test]
fn lab_boots_loads_modules_and_runs_host_programs() {
    if !Lab::available() {
        return;
    }
    let out = Lab::new()
        .modules(&["dm-mod"])
        .binaries(&["/usr/bin/xz"])
        .disk_sized("a.img", 8 << 20)
        .script(
            "step cat /sys/block/vda/size\nstep ls /dev/mapper\nstep sh -c 'echo hi | /usr/bin/xz | /usr/bin/xz -d'\nstep false\n",
        )
        .run(Duration::from_secs(90));
    eprintln!("lab boot {:?}, run {:?}", out.boot, out.elapsed);
    assert!(!out.timed_out, "{}", out.transcript());
    assert_eq!(out.exit, Some(0), "{}", out.transcript());
    assert_eq!(out.step("cat /sys/block/vda/size").out, "16384\n");
    assert_eq!(
        out.step("ls /dev/mapper").out,
        "control\n",
        "{}",
        out.transcript()
    );
    assert_eq!(
        out.step("sh -c echo hi | /usr/bin/xz | /usr/bin/xz -d").out,
        "hi\n"
    );
    assert_eq!(out.step("false").rc, 1);
}
