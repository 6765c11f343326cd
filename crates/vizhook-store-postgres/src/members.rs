//! Memberships, accounts and users: the rows identity and sites share.
