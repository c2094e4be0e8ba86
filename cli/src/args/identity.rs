//! `vchain identity ...` and the roles an identity can hold.

use clap::{Subcommand, ValueEnum};
use vchain_proto::v1::Role;

use super::{PublicKeySource, TxOpts};

/// Roles an identity can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// System administrator.
    Administrator,
    /// Bank or factor.
    Financier,
    /// Core enterprise (issuer).
    CoreEnterprise,
    /// Supplier of any tier.
    Supplier,
    /// Auditor or regulator.
    Regulator,
    /// Warehouse or logistics operator.
    WarehouseOperator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Administrator => Role::Administrator,
            RoleArg::Financier => Role::Financier,
            RoleArg::CoreEnterprise => Role::CoreEnterprise,
            RoleArg::Supplier => Role::Supplier,
            RoleArg::Regulator => Role::Regulator,
            RoleArg::WarehouseOperator => Role::WarehouseOperator,
        }
    }
}

/// `identity ...`
#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCmd {
    /// Register an enterprise identity and its first account (administrator).
    Register {
        #[command(flatten)]
        tx: TxOpts,
        /// Unified social credit code (统一社会信用代码).
        #[arg(long)]
        uscc: String,
        /// Registered name.
        #[arg(long)]
        name: String,
        /// Role of the identity.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Legal representative.
        #[arg(long, default_value = "")]
        legal_rep: String,
        /// Id of the identity's first account.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        key: PublicKeySource,
    },
    /// Show an identity.
    Get {
        /// Unified social credit code.
        uscc: String,
    },
}
