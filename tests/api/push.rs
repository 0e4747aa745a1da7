//! Push notifications end to end: a GraphQL write goes through the change
//! log, the router and the sender to a local mock of Expo's push API and a
//! fake APNs, which answer as the providers do.

mod delivery;
mod log;
mod mocks;
mod routing;
