//! The dev clock's offset on disk: how far a development chain's clock was moved forward by the
//! DevApi (`AdvanceClock`), so a restarted dev node keeps its chain time. Only development
//! chains (genesis `development = true`) serve the DevApi.

use std::path::Path;

/// File (in the data dir) remembering how far the dev clock was advanced.
const CLOCK_OFFSET_FILE: &str = "dev-clock-offset";

/// Reads the saved dev clock offset (0 if none).
pub(crate) fn load_clock_offset(data_dir: &Path) -> u64 {
    std::fs::read_to_string(data_dir.join(CLOCK_OFFSET_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Saves the dev clock offset so a restarted dev node keeps its chain time.
pub(crate) fn save_clock_offset(data_dir: &Path, offset_ms: u64) -> std::io::Result<()> {
    std::fs::write(data_dir.join(CLOCK_OFFSET_FILE), offset_ms.to_string())
}
