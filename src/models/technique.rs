use diesel::prelude::*;

use crate::db::schema::techniques;
use crate::db::DbConnection;
use crate::domain::technique::CATALOGUE;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = techniques)]
pub struct TechniqueRow {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub not_for: String,
    pub sort_order: i32,
}

/// Makes the `techniques` table match the catalogue in `domain::technique` (run at start). The
/// catalogue's order is also the bit of each technique in `therapists.technique_mask`, so a
/// reordered catalogue recomputes every mask.
pub fn sync_catalogue(conn: &mut DbConnection) -> QueryResult<()> {
    let before: Vec<(String, i32)> = techniques::table
        .select((techniques::slug, techniques::sort_order))
        .load(conn)?;
    let reordered = before.iter().any(|(slug, order)| {
        CATALOGUE.iter().position(|t| t.slug == slug) != Some(*order as usize)
    });
    for (i, t) in CATALOGUE.iter().enumerate() {
        let changed = diesel::update(techniques::table.find(t.slug))
            .set((
                techniques::name.eq(t.name),
                techniques::description.eq(t.description),
                techniques::not_for.eq(t.not_for),
                techniques::sort_order.eq(i as i32),
            ))
            .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(techniques::table)
                .values((
                    techniques::slug.eq(t.slug),
                    techniques::name.eq(t.name),
                    techniques::description.eq(t.description),
                    techniques::not_for.eq(t.not_for),
                    techniques::sort_order.eq(i as i32),
                ))
                .execute(conn)?;
        }
    }
    if reordered {
        diesel::sql_query(
            "UPDATE therapists SET technique_mask = COALESCE((SELECT SUM(CAST(1 AS BIGINT) << t.sort_order) \
             FROM therapist_techniques tt JOIN techniques t ON t.slug = tt.technique_slug \
             WHERE tt.therapist_id = therapists.id), 0)",
        )
        .execute(conn)?;
    }
    Ok(())
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TechniqueRow>> {
    techniques::table
        .order(techniques::sort_order)
        .select(TechniqueRow::as_select())
        .load(conn)
}
