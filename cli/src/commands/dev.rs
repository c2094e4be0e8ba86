//! `vchain dev ...`: dev-mode node controls.

use vchain_proto::v1::dev_api_client::DevApiClient;
use vchain_proto::v1::AdvanceClockRequest;

use crate::exit::UsageError;
use crate::json;

use super::{Ctx, Out};

const MS_PER_DAY: u64 = 86_400_000;

impl Ctx {
    pub(super) async fn advance_clock(
        &self,
        days: Option<u64>,
        ms: Option<u64>,
    ) -> anyhow::Result<Out> {
        let milliseconds = match (days, ms) {
            (Some(d), _) => d
                .checked_mul(MS_PER_DAY)
                .ok_or_else(|| UsageError(format!("--days {d} is too large")))?,
            (None, Some(ms)) => ms,
            (None, None) => return Err(UsageError("give --days or --ms".into()).into()),
        };
        let mut c = DevApiClient::new(self.channel().await?);
        let r = self
            .call(
                "advancing the dev clock",
                c.advance_clock(AdvanceClockRequest { milliseconds }),
            )
            .await?;
        let text = format!(
            "chain time: {}\nclock offset: {} ms\n",
            vchain_wallet::time::format_utc_ms(r.chain_time_ms),
            r.clock_offset_ms
        );
        Ok(Out::new(json::to_json(&r), text))
    }
}
