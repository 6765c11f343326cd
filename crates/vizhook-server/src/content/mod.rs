//! Site content behind the Tableau API: reading published files, multipart publishing with
//! chunked uploads, and extract refreshes that really connect to the content's databases.

pub mod files;
pub mod publish;
pub mod refresh;
pub mod uploads;
