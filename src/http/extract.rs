//! Request extractors whose rejections are JSON errors like every other
//! client error of the API (docs/api.md "Errors"): a body that is not JSON
//! (400), has the wrong content type (415), or does not match the expected
//! shape, including unknown fields (422); a bad query string (400).

use super::json_error;
use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::de::DeserializeOwned;

/// Largest request body the API reads.
pub const BODY_LIMIT: usize = 64 * 1024;

/// `Json<T>` with JSON rejections.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(r) => Err(json_error(r.status(), r.body_text())),
        }
    }
}

/// Like [`JsonBody`], but a request with neither body nor content type
/// means `T::default()` (a POST whose fields are all optional).
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJsonBody<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        let bytes = to_bytes(body, BODY_LIMIT).await.map_err(|_| {
            json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body unreadable or larger than {BODY_LIMIT} bytes"),
            )
        })?;
        if bytes.is_empty() && !parts.headers.contains_key(header::CONTENT_TYPE) {
            return Ok(OptionalJsonBody(T::default()));
        }
        let req = Request::from_parts(parts, Body::from(bytes));
        let JsonBody(v) = JsonBody::<T>::from_request(req, state).await?;
        Ok(OptionalJsonBody(v))
    }
}

/// `Query<T>` with JSON rejections.
#[derive(Debug)]
pub struct JsonQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for JsonQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(JsonQuery(v)),
            Err(r) => Err(json_error(r.status(), r.body_text())),
        }
    }
}
