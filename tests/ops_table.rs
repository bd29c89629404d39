//! `docs/ops.md` is generated from the code: this test fails when the committed file differs
//! from what `halfgpu::ops::support_table()` produces now. `HALFGPU_BLESS=1` rewrites it.

#[test]
fn ops_md_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ops.md");
    let fresh = halfgpu::ops::support_table();
    if std::env::var_os("HALFGPU_BLESS").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, &fresh).expect("write docs/ops.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "docs/ops.md is stale (first difference at line {}):\n  committed: {:?}\n  generated: {:?}\n\
             run with HALFGPU_BLESS=1 to update: HALFGPU_BLESS=1 cargo test --release --test ops_table",
            first + 1,
            committed.lines().nth(first).unwrap_or("<end of file>"),
            fresh.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}

#[test]
fn table_reports_known_declines() {
    let t = halfgpu::ops::support_table();
    let row = |needle: &str| {
        t.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no row with {needle:?}"))
            .to_string()
    };
    // Supported on both.
    assert!(row("| CONV_2D | 3x3, stride 1").ends_with("| yes | yes |"));
    assert!(row("| CONV_2D | FLOAT16 weights").ends_with("| yes | yes |"));
    // Declined by both, with reasons.
    let r = row("align_corners together with half_pixel_centers");
    assert_eq!(r.matches("| no: ").count(), 2, "{r}");
    // GPU only declines.
    let r = row("| CONV_2D | filter fed at run time");
    assert!(r.contains("| yes | no: ") && r.contains("constant"), "{r}");
    assert!(row("MY_CUSTOM_OP").contains("| no: "));
}
