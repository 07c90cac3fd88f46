//! The one path to a town's own rows.
//!
//! A [`TenantScope`] is obtained only from a resolved [`Tenant`](super::Tenant)
//! (from the `Host` guard, or from a slug given to a CLI command). Every query
//! on a [`TenantOwned`] entity starts from it, so the `tenant_id` condition is
//! written once, here, instead of in every query.

use sea_orm::{ColumnTrait as _, DeleteMany, EntityTrait, QueryFilter as _, Select, UpdateMany};

use super::TenantId;

/// An entity whose rows belong to one town, through a `tenant_id` column.
pub trait TenantOwned: EntityTrait {
    const TENANT_COLUMN: Self::Column;
}

/// Declares the entity of the enclosing sea-orm module tenant-owned through
/// its `tenant_id` column, with no relations and default behaviour: what
/// every tenant-owned table would otherwise write out by hand.
///
/// ```ignore
/// pub mod entity {
///     use sea_orm::entity::prelude::*;
///     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
///     #[sea_orm(table_name = "feedback")]
///     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub tenant_id: i32 }
///     crate::tenant_owned_entity!();
/// }
/// ```
#[macro_export]
macro_rules! tenant_owned_entity {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}

        impl $crate::tenancy::TenantOwned for Entity {
            const TENANT_COLUMN: Column = Column::TenantId;
        }
    };
}

/// Queries restricted to one town.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantScope {
    tenant_id: TenantId,
}

impl TenantScope {
    pub(super) fn new(tenant_id: TenantId) -> Self {
        Self { tenant_id }
    }

    /// The town's id, to set on rows being inserted.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant_id
    }

    /// `SELECT … WHERE tenant_id = <this town>`; add filters as usual.
    pub fn select<E: TenantOwned>(&self) -> Select<E> {
        E::find().filter(E::TENANT_COLUMN.eq(self.tenant_id.get()))
    }

    /// `UPDATE … WHERE tenant_id = <this town>`; add columns and filters.
    pub fn update<E: TenantOwned>(&self) -> UpdateMany<E> {
        E::update_many().filter(E::TENANT_COLUMN.eq(self.tenant_id.get()))
    }

    /// `DELETE … WHERE tenant_id = <this town>`; add filters as usual.
    pub fn delete<E: TenantOwned>(&self) -> DeleteMany<E> {
        E::delete_many().filter(E::TENANT_COLUMN.eq(self.tenant_id.get()))
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait as _};

    use super::*;
    use crate::tenancy::entity::tenant_hostname;

    #[test]
    fn scoped_queries_carry_the_tenant_condition() {
        let scope = TenantScope::new(TenantId::new(7));
        let select = scope
            .select::<tenant_hostname::Entity>()
            .build(DbBackend::Postgres)
            .to_string();
        assert!(
            select.ends_with(r#"WHERE "tenant_hostname"."tenant_id" = 7"#),
            "{select}"
        );
        let delete = scope
            .delete::<tenant_hostname::Entity>()
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(
            delete.contains(r#"WHERE "tenant_hostname"."tenant_id" = 7"#),
            "{delete}"
        );
    }
}
