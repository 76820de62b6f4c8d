//! Link keys: a value a layer matches on, hashed in its namespace, so that rows of different
//! tables that carry the same key belong together. The reconciliation declares which fields
//! link in which namespace (`reconcile::links`); the incremental components and the attempt
//! facts both key rows this way, which is why the hashing lives below them both.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// What a key's value names. Equal text in different namespaces is a different key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u64)]
pub enum Namespace {
    /// An order id: an order's id, a charge's `merchantReferenceId`, a line's `SellerOrderId`.
    OrderId = 1,
    /// A `chargePermissionId`, of an order or a charge.
    Permission = 2,
    /// A charge's or refund's id, as a line's `AmazonTransactionId` names it.
    ItemId = 3,
    /// A `SellerReferenceId`, of a charge or a line.
    Reference = 4,
}

/// The key of `text` in `namespace` (xxh3-64 seeded by the namespace).
pub fn key(namespace: Namespace, text: &str) -> u64 {
    xxh3_64_with_seed(text.as_bytes(), namespace as u64)
}

/// The own key of a charge (its id as an item id).
pub fn charge_key(id: &str) -> u64 {
    key(Namespace::ItemId, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_separate_equal_text() {
        assert_ne!(key(Namespace::OrderId, "X"), key(Namespace::ItemId, "X"));
        assert_eq!(charge_key("P01-1"), key(Namespace::ItemId, "P01-1"));
    }
}
