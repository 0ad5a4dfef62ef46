//! xl device specifications.
