//! Maintainer tooling for this workspace. The binary (`cargo xtask …`) is a thin CLI over
//! these modules; tests call them directly on temporary copies of the workspace.

pub mod ci;
pub mod generate;
pub mod normalise;
pub mod spec;
pub mod surface;
