//! Paging of list responses: `pageSize` (default 100, at most 1000) and `pageNumber`.

use super::wire::pagination;
use crate::api::{error::ApiResult, extract::QueryParams, format::Element};

pub(super) const DEFAULT_SIZE: usize = 100;
pub(super) const MAX_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy)]
pub(super) struct Page {
    pub number: usize,
    pub size: usize,
}

impl Page {
    pub(super) fn from_query(query: &QueryParams) -> ApiResult<Self> {
        Ok(Self {
            number: query.positive("pageNumber", 1)?,
            size: query.positive("pageSize", DEFAULT_SIZE)?.min(MAX_SIZE),
        })
    }

    /// The page's slice of `items` and its `<pagination>` element.
    pub(super) fn apply<T>(self, items: Vec<T>) -> (Vec<T>, Element) {
        let total = items.len();
        let skip = (self.number - 1).saturating_mul(self.size);
        let page = items.into_iter().skip(skip).take(self.size).collect();
        (page, pagination(self.number, self.size, total))
    }
}
