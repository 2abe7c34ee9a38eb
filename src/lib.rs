//! Bodywork: a massage therapist directory and booking server.
//!
//! See ARCHITECTURE.md for the map of this crate.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod models;
pub mod search;
pub mod seed;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
