//! `vchain device ...` and the kinds of IoT device.

use clap::{Subcommand, ValueEnum};

use super::TxOpts;

/// Kinds of IoT device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeviceKindArg {
    /// Counts or weighs the lot.
    Scale,
    /// In/out movements.
    Gate,
    /// Temperature and humidity.
    Climate,
    /// Position, checked against the geofence.
    Gps,
    /// Smart lock state.
    Lock,
    /// RFID tag scans.
    Rfid,
}

/// `device ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCmd {
    /// Register a device watching one of your lots.
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// What it measures.
        #[arg(long, value_enum)]
        kind: DeviceKindArg,
        /// The warehouse receipt (lot) it watches.
        #[arg(long)]
        receipt: String,
        /// The keystore key the device signs with.
        #[arg(long = "device-key", value_name = "NAME")]
        device_key: String,
        /// GPS: the geofence as MIN_LAT,MAX_LAT,MIN_LON,MAX_LON in 1e-7 degrees.
        #[arg(long, value_delimiter = ',', num_args = 4, value_name = "E7")]
        fence: Vec<i64>,
        /// Climate: the allowed range as MIN,MAX in hundredths of a degree Celsius.
        #[arg(
            long,
            value_delimiter = ',',
            num_args = 2,
            value_name = "CENTI_C",
            allow_negative_numbers = true
        )]
        temperature: Vec<i32>,
    },
    /// Revoke a device: its readings are refused from then on.
    Revoke {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// Why (recorded on chain).
        #[arg(long)]
        reason: String,
    },
    /// Show a device: key, kind, lot, last reading counter, status.
    Get {
        /// Device id.
        device: String,
    },
    /// Sign a reading with the device's key and submit it through your gateway account.
    Read {
        #[command(flatten)]
        tx: TxOpts,
        /// Device id.
        device: String,
        /// The keystore key the device signs with.
        #[arg(long = "device-key", value_name = "NAME")]
        device_key: String,
        /// The reading's counter (above the device's last).
        #[arg(long)]
        counter: u64,
        /// Scale: units counted.
        #[arg(long, group = "measurement")]
        quantity: Option<u64>,
        /// Gate: units that left.
        #[arg(long, group = "measurement")]
        units_out: Option<u64>,
        /// Climate: temperature in hundredths of a degree Celsius.
        #[arg(long, group = "measurement", allow_negative_numbers = true)]
        centi_celsius: Option<i32>,
        /// GPS: LAT,LON in 1e-7 degrees.
        #[arg(
            long,
            group = "measurement",
            value_delimiter = ',',
            num_args = 2,
            allow_negative_numbers = true
        )]
        position: Option<Vec<i64>>,
        /// Lock: open (true) or closed (false).
        #[arg(long, group = "measurement")]
        lock_open: Option<bool>,
        /// RFID: the tag scanned.
        #[arg(long, group = "measurement")]
        rfid: Option<String>,
    },
}
