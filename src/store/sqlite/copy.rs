//! A bucket's content hashes (what `objects` records of each published object), and a state's
//! tables read and written whole, for `kairan state copy`.

use crate::store::copy::{Rows, Value};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use std::collections::HashMap;

pub(super) fn objects(conn: &Connection, place: &str) -> rusqlite::Result<HashMap<String, String>> {
    let mut statement = conn.prepare_cached("SELECT key, sha256 FROM objects WHERE place = ?1")?;
    let rows = statement.query_map([place], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub(super) fn record_objects(
    conn: &mut Connection,
    place: &str,
    put: &[(String, String)],
    deleted: &[String],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut upsert = tx.prepare_cached(
            "INSERT OR REPLACE INTO objects (place, key, sha256) VALUES (?1, ?2, ?3)",
        )?;
        for (key, hash) in put {
            upsert.execute(params![place, key, hash])?;
        }
        let mut delete = tx.prepare_cached("DELETE FROM objects WHERE place = ?1 AND key = ?2")?;
        for key in deleted {
            delete.execute(params![place, key])?;
        }
    }
    tx.commit()
}

pub(super) fn export(
    conn: &Connection,
    table: &'static str,
    columns: &'static [&'static str],
) -> rusqlite::Result<Rows> {
    let list = columns.join(", ");
    let mut statement = conn.prepare(&format!("SELECT {list} FROM {table} ORDER BY {list}"))?;
    let rows = statement.query_map([], |r| {
        (0..columns.len())
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::Int(n),
                    // No column holds a real; one written by hand is kept as text.
                    ValueRef::Real(x) => Value::Text(x.to_string()),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                })
            })
            .collect()
    })?;
    Ok(Rows {
        table,
        columns,
        rows: rows.collect::<rusqlite::Result<_>>()?,
    })
}

/// `tables` in place of everything the state holds, in one transaction; refused (`Ok(false)`)
/// where the state holds an entry.
pub(super) fn import(conn: &mut Connection, tables: &[Rows]) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let entries: i64 = tx.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
    if entries > 0 {
        return Ok(false);
    }
    for rows in tables.iter().rev() {
        tx.execute(&format!("DELETE FROM {}", rows.table), [])?;
    }
    for rows in tables {
        let marks: Vec<String> = (1..=rows.columns.len()).map(|i| format!("?{i}")).collect();
        let mut insert = tx.prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            rows.table,
            rows.columns.join(", "),
            marks.join(", ")
        ))?;
        for row in &rows.rows {
            let values = row.iter().map(|v| match v {
                Value::Null => rusqlite::types::Value::Null,
                Value::Int(n) => rusqlite::types::Value::Integer(*n),
                Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
                Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
            });
            insert.execute(rusqlite::params_from_iter(values))?;
        }
    }
    tx.commit()?;
    Ok(true)
}
