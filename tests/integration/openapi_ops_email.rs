//! `/api/v1/email-subscribers` driven through every operation, checked against the
//! document.

use axum::http::StatusCode;
use serde_json::json;

use crate::openapi::Checker;
use crate::openapi_ops::{expect, id, DELETE, GET, PATCH, POST};

pub async fn email_subscribers(c: &mut Checker<'_>, a: &str, r: &str) {
    let made = expect(
        c.call(
            POST,
            "/email-subscribers",
            &[],
            a,
            Some(json!({"email": "reader@example.com"})),
        )
        .await,
        StatusCode::CREATED,
        "add an address",
    );
    assert_eq!(made["state"], "unconfirmed");
    let made_id = id(&made);
    let one = [("id", made_id.as_str())];
    expect(
        c.call(
            POST,
            "/email-subscribers",
            &[],
            a,
            Some(json!({"email": "Reader@example.com"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "subscribed already",
    );
    expect(
        c.call(GET, "/email-subscribers", &[], a, None).await,
        StatusCode::OK,
        "list",
    );
    expect(
        c.call(GET, "/email-subscribers", &[], r, None).await,
        StatusCode::FORBIDDEN,
        "admins only",
    );
    expect(
        c.call(GET, "/email-subscribers/{id}", &one, a, None).await,
        StatusCode::OK,
        "one",
    );
    let nobody = uuid::Uuid::new_v4().to_string();
    let none = [("id", nobody.as_str())];
    expect(
        c.call(GET, "/email-subscribers/{id}", &none, a, None).await,
        StatusCode::NOT_FOUND,
        "no such subscriber",
    );
    expect(
        c.call(
            PATCH,
            "/email-subscribers/{id}",
            &one,
            a,
            Some(json!({"component_ids": []})),
        )
        .await,
        StatusCode::OK,
        "choose components",
    );
    expect(
        c.call(
            PATCH,
            "/email-subscribers/{id}",
            &one,
            a,
            Some(json!({"component_ids": [nobody]})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an unknown component",
    );
    expect(
        c.call(
            PATCH,
            "/email-subscribers/{id}",
            &none,
            a,
            Some(json!({"component_ids": []})),
        )
        .await,
        StatusCode::NOT_FOUND,
        "choose for nobody",
    );
    expect(
        c.call(DELETE, "/email-subscribers/{id}", &one, a, None)
            .await,
        StatusCode::NO_CONTENT,
        "remove",
    );
    expect(
        c.call(DELETE, "/email-subscribers/{id}", &one, a, None)
            .await,
        StatusCode::NOT_FOUND,
        "removed already",
    );
}
