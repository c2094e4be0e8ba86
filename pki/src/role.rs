//! What a certificate lets its key do: the role written in the subject's OU.

use core::fmt;
use core::str::FromStr;

use crate::CertError;

/// The chain role an account certificate grants (the OU of an account's certificate).
///
/// These mirror the roles of the contracts crate's identities; the contracts crate maps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountRole {
    /// Freezes and unfreezes accounts and changes chain parameters through proposals.
    Administrator,
    /// A bank or factor: grants credit lines, buys and takes pledges of vouchers.
    Financier,
    /// Issues vouchers within its credit line and pays them at maturity.
    CoreEnterprise,
    /// Holds, splits, transfers, pledges and redeems vouchers.
    Supplier,
    /// Auditor or regulator: reads and traces everything, changes nothing.
    Regulator,
    /// Registers IoT devices, issues warehouse receipts, attests collateral.
    WarehouseOperator,
}

impl AccountRole {
    /// Every account role, in declaration order.
    pub const ALL: [AccountRole; 6] = [
        AccountRole::Administrator,
        AccountRole::Financier,
        AccountRole::CoreEnterprise,
        AccountRole::Supplier,
        AccountRole::Regulator,
        AccountRole::WarehouseOperator,
    ];

    /// The role's name as written in a certificate's OU, e.g. `"core-enterprise"`.
    pub const fn name(self) -> &'static str {
        match self {
            AccountRole::Administrator => "administrator",
            AccountRole::Financier => "financier",
            AccountRole::CoreEnterprise => "core-enterprise",
            AccountRole::Supplier => "supplier",
            AccountRole::Regulator => "regulator",
            AccountRole::WarehouseOperator => "warehouse-operator",
        }
    }
}

/// What a certificate's key is for; written as the subject's OU (see [`CertRole::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertRole {
    /// An organisation's self-signed root CA (`"root-ca"`): the only certificate with `cA=true`.
    RootCa,
    /// A consensus node (`"node"`): binds the node's libp2p Ed25519 key.
    Node,
    /// A wallet account (the account role's name): binds the account's transaction signing key.
    Account(AccountRole),
    /// An IoT device (`"device"`): binds the key that signs its sensor readings.
    Device,
}

impl CertRole {
    /// The OU string for this role: `"root-ca"`, `"node"`, `"device"` or an account role's name.
    pub const fn name(self) -> &'static str {
        match self {
            CertRole::RootCa => "root-ca",
            CertRole::Node => "node",
            CertRole::Account(role) => role.name(),
            CertRole::Device => "device",
        }
    }

    /// The role an OU string names, or [`CertError::UnknownRole`]. Exact, case-sensitive match.
    pub fn from_name(name: &str) -> Result<CertRole, CertError> {
        match name {
            "root-ca" => return Ok(CertRole::RootCa),
            "node" => return Ok(CertRole::Node),
            "device" => return Ok(CertRole::Device),
            _ => {}
        }
        AccountRole::ALL
            .into_iter()
            .find(|role| role.name() == name)
            .map(CertRole::Account)
            .ok_or_else(|| CertError::UnknownRole {
                role: name.to_owned(),
            })
    }
}

impl fmt::Display for CertRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CertRole {
    type Err = CertError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        CertRole::from_name(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_name_round_trips() {
        let mut roles = vec![CertRole::RootCa, CertRole::Node, CertRole::Device];
        roles.extend(AccountRole::ALL.map(CertRole::Account));
        for role in roles {
            assert_eq!(CertRole::from_name(role.name()), Ok(role));
            assert_eq!(role.to_string().parse::<CertRole>(), Ok(role));
        }
    }

    #[test]
    fn unknown_and_miscased_names_are_refused() {
        for name in ["", "Supplier", "root", "core_enterprise", "node "] {
            assert!(matches!(
                CertRole::from_name(name),
                Err(CertError::UnknownRole { .. })
            ));
        }
    }
}
