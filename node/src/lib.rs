//! qraft-node
