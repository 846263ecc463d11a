//! Request bodies of `POST`/`PUT /author/` and their validation (spec 1.3, 0.4 CreateBlog/UpdateBlog
//! templates). Absent and `null` fields are the same (`None`).

use serde::{Deserialize, de::DeserializeOwned};
use shared::ApiError;

use crate::domain::{BlogEdit, Id, NewBlog, TextRules, Violations};

/// Decodes a body already parsed as JSON into the DTO `go_type` (named as Go names it). Going
/// through a [`serde_json::Value`] first gives Go's rule for a repeated key (the last one wins)
/// instead of serde's duplicate-field error. A non-object is refused with Go's text, except `null`,
/// which Go decodes into an empty struct (so validation reports the required fields).
pub fn decode<T: DeserializeOwned>(body: serde_json::Value, go_type: &str) -> Result<T, ApiError> {
    use serde_json::Value;
    let kind = match &body {
        Value::Object(_) => None,
        Value::Null => return decode(Value::Object(serde_json::Map::new()), go_type),
        Value::Array(_) => Some("array"),
        Value::String(_) => Some("string"),
        Value::Number(_) => Some("number"),
        Value::Bool(_) => Some("bool"),
    };
    if let Some(kind) = kind {
        return Err(ApiError::bad_request(format!(
            "json: cannot unmarshal {kind} into Go value of type {go_type}"
        )));
    }
    serde_json::from_value(body).map_err(|err| ApiError::bad_request(err.to_string()))
}

/// Go's name of the create DTO, for decode errors.
pub const CREATE_BLOG_TYPE: &str = "dto.CreateBlog";
/// Go's name of the update DTO, for decode errors.
pub const UPDATE_BLOG_TYPE: &str = "dto.UpdateBlog";

/// `POST /author/` body.
#[derive(Debug, Deserialize)]
pub struct CreateBlogRequest {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "draftText", default)]
    draft_text: Option<String>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(rename = "imgUrl", default)]
    img_url: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// `PUT /author/` body.
#[derive(Debug, Deserialize)]
pub struct UpdateBlogRequest {
    /// Any JSON: an ObjectID accepts more than a string (spec 0.7, see [`object_id_text`]).
    #[serde(rename = "_id", default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "draftText", default)]
    draft_text: Option<String>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(rename = "imgUrl", default)]
    img_url: Option<String>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

const fn rules(required: bool, min: Option<usize>, max: usize, uri: bool) -> TextRules {
    TextRules {
        required,
        min,
        max: Some(max),
        uri,
    }
}

/// Field rules in struct order: title, description, draftText, slug, imgUrl.
const fn field_rules(required: bool) -> [(&'static str, TextRules); 5] {
    [
        ("title", rules(required, Some(3), 500, false)),
        ("description", rules(required, Some(3), 2000, false)),
        ("draftText", rules(required, None, 50_000, false)),
        ("slug", rules(required, Some(3), 200, false)),
        ("imgUrl", rules(required, None, 200, true)),
    ]
}

impl TryFrom<CreateBlogRequest> for NewBlog {
    type Error = ApiError;

    fn try_from(body: CreateBlogRequest) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let values = [
            &body.title,
            &body.description,
            &body.draft_text,
            &body.slug,
            &body.img_url,
        ];
        for ((field, rules), value) in field_rules(true).into_iter().zip(values) {
            v.text(field, value.as_deref(), rules);
        }
        v.tags("tags", body.tags.as_deref(), true);
        v.finish().map_err(ApiError::bad_request)?;
        let missing = "BUG: required fields were checked";
        Ok(Self {
            title: body.title.expect(missing),
            description: body.description.expect(missing),
            draft_text: body.draft_text.expect(missing),
            slug: body.slug.expect(missing),
            img_url: body.img_url.expect(missing),
            tags: body.tags.expect(missing),
        })
    }
}

/// The text of a JSON ObjectID as the Go driver's `UnmarshalJSON` reads it (spec 0.7): a string, or
/// extended JSON `{"$oid": "<string>"}` (other keys ignored); anything else is refused with the
/// driver's text. `null`/absent never get here (`None`, the field is unchanged: `""`).
fn object_id_text(value: serde_json::Value) -> Result<String, ApiError> {
    use serde_json::Value;
    let not_an_object_id = || ApiError::bad_request("not an extended JSON ObjectID");
    match value {
        Value::String(text) => Ok(text),
        Value::Object(mut map) => match map.remove("$oid") {
            Some(Value::String(text)) => Ok(text),
            _ => Err(not_an_object_id()),
        },
        _ => Err(not_an_object_id()),
    }
}

impl TryFrom<UpdateBlogRequest> for (Id, BlogEdit) {
    type Error = ApiError;

    fn try_from(body: UpdateBlogRequest) -> Result<Self, ApiError> {
        // JSON → ObjectID happens while decoding (spec 0.7), before any validation
        let raw_id = body.id.map(object_id_text).transpose()?.unwrap_or_default();
        let id = if raw_id.is_empty() {
            None
        } else if raw_id.len() != 24 {
            return Err(ApiError::bad_request(format!(
                "cannot unmarshal into an ObjectID, the length must be 24 but it is {}",
                raw_id.len()
            )));
        } else {
            Some(Id::parse(&raw_id).map_err(|_| {
                ApiError::bad_request("the provided hex string is not a valid ObjectID")
            })?)
        };
        // stage 1: binding `required` on `_id` (the zero id counts as missing)
        let id = id
            .filter(|id| !id.is_zero())
            .ok_or_else(|| ApiError::bad_request("_id is required"))?;
        // stage 2: every other field
        let mut v = Violations::new();
        let values = [
            &body.title,
            &body.description,
            &body.draft_text,
            &body.slug,
            &body.img_url,
        ];
        for ((field, rules), value) in field_rules(false).into_iter().zip(values) {
            v.text(field, value.as_deref(), rules);
        }
        v.tags("tags", body.tags.as_deref(), false);
        v.finish().map_err(ApiError::bad_request)?;
        Ok((
            id,
            BlogEdit {
                title: body.title,
                description: body.description,
                draft_text: body.draft_text,
                slug: body.slug,
                img_url: body.img_url,
                tags: body.tags,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<NewBlog, String> {
        let body: CreateBlogRequest = decode(serde_json::from_str(json).unwrap(), "T").unwrap();
        NewBlog::try_from(body).map_err(|err| err.to_string())
    }

    fn update(json: &str) -> Result<(Id, BlogEdit), String> {
        let body: UpdateBlogRequest = decode(serde_json::from_str(json).unwrap(), "T").unwrap();
        <(Id, BlogEdit)>::try_from(body).map_err(|err| err.to_string())
    }

    #[test]
    fn non_objects_are_refused_like_go_and_null_is_empty() {
        let err = decode::<CreateBlogRequest>(serde_json::json!([]), CREATE_BLOG_TYPE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "json: cannot unmarshal array into Go value of type dto.CreateBlog"
        );
        assert!(create("null").unwrap_err().starts_with("title is required"));
    }

    #[test]
    fn empty_create_lists_every_required_field() {
        assert_eq!(
            create("{}").unwrap_err(),
            "title is required, description is required, draftText is required, slug is required, imgUrl is required, tags is required"
        );
    }

    #[test]
    fn create_rules_use_size_wording() {
        let cases = [
            (r#""title":"ab""#, "title must be at least 3 size"),
            (r#""imgUrl":"not a uri""#, "imgUrl must be a valid URI"),
            (r#""tags":[]"#, "tags must be at least 1 size"),
            (r#""tags":["ok","OK"]"#, "tags[0] must be uppercase"),
        ];
        for (field, expected) in cases {
            let base = r#"{"title":"Title","description":"Desc","draftText":"x","slug":"slug","imgUrl":"https://a.b/c.png","tags":["A"]"#;
            let json = format!("{base},{field}}}");
            assert_eq!(create(&json).unwrap_err(), expected, "{field}");
        }
        let long = format!(
            r#"{{"title":"{}","description":"{}","draftText":"{}","slug":"{}","imgUrl":"/{}","tags":["A"]}}"#,
            "t".repeat(501),
            "d".repeat(2001),
            "x".repeat(50_001),
            "s".repeat(201),
            "i".repeat(200)
        );
        assert_eq!(
            create(&long).unwrap_err(),
            "title must be at most 500 size, description must be at most 2000 size, draftText must be at most 50000 size, slug must be at most 200 size, imgUrl must be at most 200 size"
        );
    }

    #[test]
    fn update_checks_the_id_first() {
        assert_eq!(update("{}").unwrap_err(), "_id is required");
        assert_eq!(
            update(r#"{"_id":"","title":"x"}"#).unwrap_err(),
            "_id is required"
        );
        assert_eq!(
            update(r#"{"_id":"abc"}"#).unwrap_err(),
            "cannot unmarshal into an ObjectID, the length must be 24 but it is 3"
        );
        assert_eq!(
            update(r#"{"_id":"zzzzzzzzzzzzzzzzzzzzzzzz"}"#).unwrap_err(),
            "the provided hex string is not a valid ObjectID"
        );
        let id = r#""_id":"65a1b2c3d4e5f6a7b8c9d0e1""#;
        assert_eq!(
            update(&format!(r#"{{{id},"title":"","imgUrl":"","tags":[]}}"#)).unwrap_err(),
            "title must be at least 3 size, imgUrl must be a valid URI, tags must be at least 1 size"
        );
        let (_, edit) = update(&format!(r#"{{{id},"draftText":"","title":null}}"#)).unwrap();
        assert_eq!(edit.draft_text.as_deref(), Some(""));
        assert_eq!(edit.title, None);
    }

    #[test]
    fn update_id_accepts_extended_json_as_the_go_driver_does() {
        let hex = "65a1b2c3d4e5f6a7b8c9d0e1";
        let (id, _) = update(&format!(r#"{{"_id":{{"$oid":"{hex}","x":1}}}}"#)).unwrap();
        assert_eq!(id.as_str(), hex);
        let cases = [
            (r#"{"_id":{"oid":"x"}}"#, "not an extended JSON ObjectID"),
            (r#"{"_id":{"$oid":7}}"#, "not an extended JSON ObjectID"),
            (r#"{"_id":[]}"#, "not an extended JSON ObjectID"),
            (r#"{"_id":true}"#, "not an extended JSON ObjectID"),
            (r#"{"_id":{"$oid":""}}"#, "_id is required"),
            (
                r#"{"_id":{"$oid":"ab"}}"#,
                "cannot unmarshal into an ObjectID, the length must be 24 but it is 2",
            ),
            (r#"{"_id":null}"#, "_id is required"),
        ];
        for (json, expected) in cases {
            assert_eq!(update(json).unwrap_err(), expected, "{json}");
        }
    }
}
