//! A whole state's rows out and in, for `kairan state copy` (see [`crate::store::copy`]): a
//! table read in a fixed order, each value by its column's type; a new state filled in one
//! transaction, each table by `COPY ... FROM STDIN BINARY`.

use super::{Db, Fallible};
use crate::store::copy::{Rows, TABLES, Value};
use postgres::Row;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

/// The column types kairan's schema uses.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Blob,
}

impl Kind {
    fn of(ty: &Type) -> Fallible<Kind> {
        if *ty == Type::INT8 {
            Ok(Kind::Int)
        } else if *ty == Type::TEXT {
            Ok(Kind::Text)
        } else if *ty == Type::BYTEA {
            Ok(Kind::Blob)
        } else {
            Err(format!("a column of type {ty}, which kairan's schema does not use").into())
        }
    }
}

/// `"a", "b", ...`: names from [`TABLES`], quoted as identifiers.
fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    quoted.join(", ")
}

/// The rows of `table`, ordered by every column in turn (each table's key leads its columns),
/// nulls first: the order SQLite gives the same rows.
pub(super) fn export(
    db: &mut Db,
    table: &'static str,
    columns: &'static [&'static str],
) -> Fallible<Rows> {
    let order: Vec<String> = columns
        .iter()
        .map(|c| format!("\"{c}\" NULLS FIRST"))
        .collect();
    let sql = format!(
        "SELECT {} FROM \"{table}\" ORDER BY {}",
        quoted(columns),
        order.join(", ")
    );
    let rows = db
        .query(&sql, &[])?
        .iter()
        .map(|r| (0..columns.len()).map(|i| value(r, i)).collect())
        .collect::<Fallible<_>>()?;
    Ok(Rows {
        table,
        columns,
        rows,
    })
}

fn value(r: &Row, i: usize) -> Fallible<Value> {
    Ok(match Kind::of(r.columns()[i].type_())? {
        Kind::Int => r
            .try_get::<_, Option<i64>>(i)?
            .map_or(Value::Null, Value::Int),
        Kind::Text => r
            .try_get::<_, Option<String>>(i)?
            .map_or(Value::Null, Value::Text),
        Kind::Blob => r
            .try_get::<_, Option<Vec<u8>>>(i)?
            .map_or(Value::Null, Value::Blob),
    })
}

/// Replaces every row of every table (`meta` too) with `tables`, in one transaction; refused
/// when the state holds an entry, which the copy would lose.
pub(super) fn import(db: &mut Db, tables: &[Rows]) -> Fallible<()> {
    db.transaction(|db| {
        let held = db.query_opt("SELECT EXISTS (SELECT 1 FROM entries)", &[])?;
        if let Some(r) = held
            && r.try_get::<_, bool>(0)?
        {
            return Err(
                "already holds entries: copy into a new state, or one with no entry".into(),
            );
        }
        for (table, _) in TABLES.iter().rev() {
            db.execute(&format!("DELETE FROM \"{table}\""), &[])?;
        }
        for rows in tables {
            insert(db, rows)?;
        }
        Ok(())
    })
}

/// A value as a parameter of its column's type: a null is typed too, so that the binary copy
/// writes it for that column.
enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    /// An integer in a text column, as SQLite's text of it.
    Number(String),
    Blob(Option<&'a [u8]>),
}

impl Param<'_> {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::Int(v) => v,
            Param::Text(v) => v,
            Param::Number(v) => v,
            Param::Blob(v) => v,
        }
    }
}

fn param(value: &Value, kind: Kind) -> Option<Param<'_>> {
    Some(match (value, kind) {
        (Value::Null, Kind::Int) => Param::Int(None),
        (Value::Null, Kind::Text) => Param::Text(None),
        (Value::Null, Kind::Blob) => Param::Blob(None),
        (Value::Int(i), Kind::Int) => Param::Int(Some(*i)),
        (Value::Int(i), Kind::Text) => Param::Number(i.to_string()),
        (Value::Text(t), Kind::Text) => Param::Text(Some(t)),
        (Value::Blob(b), Kind::Blob) => Param::Blob(Some(b)),
        _ => return None,
    })
}

/// Writes a table's rows with one binary `COPY`.
fn insert(db: &mut Db, rows: &Rows) -> Fallible<()> {
    if rows.rows.is_empty() {
        return Ok(());
    }
    let (table, list) = (rows.table, quoted(rows.columns));
    // The columns' types, as the binary format needs them, from the statement's description.
    let types: Vec<Type> = db
        .statement(&format!("SELECT {list} FROM \"{table}\""))?
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    let kinds = types.iter().map(Kind::of).collect::<Fallible<Vec<_>>>()?;
    let sink = db
        .client()?
        .copy_in(&format!("COPY \"{table}\" ({list}) FROM STDIN BINARY"))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    for row in &rows.rows {
        if row.len() != kinds.len() {
            return Err(format!(
                "a row of {table} has {} values for {} columns",
                row.len(),
                kinds.len()
            )
            .into());
        }
        let mut params = Vec::with_capacity(row.len());
        for ((value, &kind), column) in row.iter().zip(&kinds).zip(rows.columns) {
            params.push(param(value, kind).ok_or_else(|| {
                let given = match value {
                    Value::Null => "null",
                    Value::Int(_) => "an integer",
                    Value::Text(_) => "text",
                    Value::Blob(_) => "a blob",
                };
                format!("{table}.{column} holds {kind:?} values, not {given}")
            })?);
        }
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(Param::sql).collect();
        writer.write(&params)?;
    }
    writer.finish()?;
    Ok(())
}
