//! Parquet copies of the JSONL exports, for analysis in polars / pandas / DuckDB. Behind the
//! default-on `parquet` feature because polars dominates build time and binary size.

use std::path::Path;

use crate::DatasetError;

/// Re-read a JSONL export with polars (nested `messages` become a list of structs) and write it
/// as Parquet, atomically.
#[cfg(feature = "parquet")]
pub fn jsonl_to_parquet(src: &Path, dst: &Path) -> Result<(), DatasetError> {
    use polars::prelude::*;
    let err = |e: PolarsError| DatasetError::Parquet {
        path: dst.to_path_buf(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(src).map_err(|e| DatasetError::io(src, e))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        // polars cannot infer a schema from nothing; an empty split has no Parquet file.
        return Ok(());
    }
    let mut df = JsonReader::new(file)
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .map_err(err)?;
    let mut failure = None;
    mh_profile::atomic_write_with(dst, |w| {
        ParquetWriter::new(w)
            .finish(&mut df)
            .map(|_| ())
            .map_err(|e| {
                failure = Some(e.to_string());
                std::io::Error::other("parquet")
            })
    })
    .map_err(|e| DatasetError::Parquet {
        path: dst.to_path_buf(),
        reason: failure.take().unwrap_or_else(|| e.to_string()),
    })
}

#[cfg(not(feature = "parquet"))]
pub fn jsonl_to_parquet(_src: &Path, dst: &Path) -> Result<(), DatasetError> {
    Err(DatasetError::Parquet {
        path: dst.to_path_buf(),
        reason: "this build has no Parquet support (built without the `parquet` feature)".into(),
    })
}
