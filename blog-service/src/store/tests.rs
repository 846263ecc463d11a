//! One backend-agnostic conformance suite, run against SQLite always and against MongoDB when
//! `MONGODB_TEST_URI` is set (otherwise that half reports itself skipped and passes).

use std::sync::Arc;

use super::{
    BlogChange, BlogList, BlogStore, Owner, StoreError, mongo::MongoStore, sqlite::SqliteStore,
};
use crate::domain::{Blog, BlogEdit, Id, NewBlog, Page, Timestamp};

fn page(page: u32, limit: u32) -> Page {
    Page { page, limit }
}

fn draft(author: &Id, slug: &str, title: &str, description: &str, at: i64) -> Blog {
    let new = NewBlog {
        title: title.to_owned(),
        description: description.to_owned(),
        draft_text: format!("draft of {slug}"),
        slug: slug.to_owned(),
        img_url: "https://img.example/a.png".to_owned(),
        tags: vec!["RUST".to_owned(), format!("T{at}")],
    };
    Blog::draft(new, *author, Timestamp(at))
}

/// Submits, then publishes `blog` (publishing needs a submitted blog).
async fn publish(store: &dyn BlogStore, blog: &Blog, at: i64) {
    assert!(
        store
            .update(
                &blog.id,
                &Owner::Any,
                &BlogChange::Submit(true),
                &blog.author,
                Timestamp(at)
            )
            .await
            .unwrap()
    );
    let change = BlogChange::Publish {
        text: blog.draft_text.clone(),
        published_at: Timestamp(at),
    };
    assert!(
        store
            .update(&blog.id, &Owner::Any, &change, &blog.author, Timestamp(at))
            .await
            .unwrap()
    );
}

async fn insert_round_trips_every_field(store: &dyn BlogStore) {
    let author = Id::generate();
    let mut blog = draft(&author, "round-trip", "Ünïcode ✓ title", "desc <&>", 1_000);
    blog.tags = vec!["ÜBER".to_owned()];
    store.insert(&blog).await.unwrap();
    assert_eq!(
        store.find_by_id(&blog.id).await.unwrap(),
        Some(blog.clone())
    );
    assert_eq!(
        store.find_by_slug("round-trip").await.unwrap(),
        Some(blog.clone())
    );
    assert_eq!(store.find_by_id(&Id::generate()).await.unwrap(), None);
    assert_eq!(store.find_by_slug("nope").await.unwrap(), None);
}

async fn slugs_are_unique_even_after_delete(store: &dyn BlogStore) {
    let author = Id::generate();
    let first = draft(&author, "taken-slug", "First", "first", 1_000);
    store.insert(&first).await.unwrap();
    assert!(
        store
            .update(
                &first.id,
                &Owner::Author(author),
                &BlogChange::Delete,
                &author,
                Timestamp(2_000)
            )
            .await
            .unwrap()
    );
    let second = draft(&author, "taken-slug", "Second", "second", 3_000);
    assert!(matches!(
        store.insert(&second).await,
        Err(StoreError::Conflict("slug"))
    ));
    let third = draft(&author, "other-slug", "Third", "third", 3_000);
    store.insert(&third).await.unwrap();
    let edit = BlogChange::Edit(BlogEdit {
        slug: Some("taken-slug".to_owned()),
        ..BlogEdit::default()
    });
    assert!(matches!(
        store
            .update(&third.id, &Owner::Any, &edit, &author, Timestamp(4_000))
            .await,
        Err(StoreError::Conflict("slug"))
    ));
}

async fn updates_respect_owner_and_status(store: &dyn BlogStore) {
    let author = Id::generate();
    let stranger = Id::generate();
    let blog = draft(&author, "guarded", "Guarded", "guarded", 1_000);
    store.insert(&blog).await.unwrap();
    let submit = BlogChange::Submit(true);
    assert!(
        !store
            .update(
                &blog.id,
                &Owner::Author(stranger),
                &submit,
                &stranger,
                Timestamp(2_000)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .update(
                &blog.id,
                &Owner::Author(author),
                &submit,
                &author,
                Timestamp(2_000)
            )
            .await
            .unwrap()
    );
    let edit = BlogChange::Edit(BlogEdit {
        title: Some("New title".to_owned()),
        tags: Some(vec!["NEW".to_owned()]),
        img_url: Some("/x.png".to_owned()),
        ..BlogEdit::default()
    });
    assert!(
        store
            .update(
                &blog.id,
                &Owner::Author(author),
                &edit,
                &author,
                Timestamp(3_000)
            )
            .await
            .unwrap()
    );
    let stored = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.title.as_str(),
            stored.tags.clone(),
            stored.img_url.as_deref()
        ),
        ("New title", vec!["NEW".to_owned()], Some("/x.png"))
    );
    assert_eq!(
        (
            stored.submitted,
            stored.description.as_str(),
            stored.updated_at
        ),
        (true, "guarded", Timestamp(3_000))
    );
    publish(store, &stored, 4_000).await;
    let published = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert_eq!(
        (published.drafted, published.submitted, published.published),
        (false, false, true)
    );
    assert_eq!(
        (published.text.as_deref(), published.published_at),
        (Some("draft of guarded"), Some(Timestamp(4_000)))
    );
    assert!(
        store
            .update(
                &blog.id,
                &Owner::Any,
                &BlogChange::Unpublish,
                &stranger,
                Timestamp(5_000)
            )
            .await
            .unwrap()
    );
    let unpublished = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert_eq!(
        (
            unpublished.drafted,
            unpublished.published,
            unpublished.published_at
        ),
        (true, false, Some(Timestamp(4_000)))
    );
    assert_eq!(
        (unpublished.text.as_deref(), &unpublished.updated_by),
        (Some("draft of guarded"), &stranger)
    );
    assert!(
        store
            .update(
                &blog.id,
                &Owner::Any,
                &BlogChange::Delete,
                &author,
                Timestamp(6_000)
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .update(&blog.id, &Owner::Any, &submit, &author, Timestamp(7_000))
            .await
            .unwrap(),
        "deleted blogs never match"
    );
}

async fn lists_filter_sort_and_page(store: &dyn BlogStore) {
    let author = Id::generate();
    let other = Id::generate();
    let mut ids = Vec::new();
    for (i, at) in [10_000, 30_000, 20_000].into_iter().enumerate() {
        let blog = draft(&author, &format!("list-{i}"), "List", "list", at);
        store.insert(&blog).await.unwrap();
        publish(store, &blog, at).await;
        ids.push(blog.id);
    }
    let hidden = draft(&other, "list-hidden", "Hidden", "hidden", 40_000);
    store.insert(&hidden).await.unwrap();
    let latest = store.list(&BlogList::Latest, page(1, 1000)).await.unwrap();
    let order: Vec<&Id> = latest
        .iter()
        .filter(|b| ids.contains(&b.id))
        .map(|b| &b.id)
        .collect();
    assert_eq!(order, [&ids[1], &ids[2], &ids[0]], "updatedAt desc");
    assert!(latest.iter().all(|b| b.id != hidden.id));
    let tag = store
        .list(&BlogList::Tag("T30000".to_owned()), page(1, 10))
        .await
        .unwrap();
    assert_eq!(tag.iter().map(|b| &b.id).collect::<Vec<_>>(), [&ids[1]]);
    assert!(
        store
            .list(&BlogList::Tag("t30000".to_owned()), page(1, 10))
            .await
            .unwrap()
            .is_empty(),
        "case-sensitive"
    );
    let mine = store
        .list(&BlogList::AuthorPublished(author), page(1, 2))
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    let second = store
        .list(&BlogList::AuthorPublished(author), page(2, 2))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert!(
        store
            .list(&BlogList::AuthorDrafts(author), page(1, 10))
            .await
            .unwrap()
            .is_empty()
    );
    let drafts = store
        .list(&BlogList::AuthorDrafts(other), page(1, 10))
        .await
        .unwrap();
    assert_eq!(
        drafts.iter().map(|b| &b.id).collect::<Vec<_>>(),
        [&hidden.id]
    );
    let published = store
        .list(&BlogList::Published, page(1, 1000))
        .await
        .unwrap();
    assert!(ids.iter().all(|id| published.iter().any(|b| &b.id == id)));
}

async fn similar_weights_title_over_description(store: &dyn BlogStore) {
    let author = Id::generate();
    let source = draft(
        &author,
        "sim-source",
        "Zebra migration patterns",
        "about animals",
        1_000,
    );
    let by_title = draft(&author, "sim-title", "Zebra herds", "savanna", 2_000);
    let by_description = draft(&author, "sim-desc", "Savanna life", "a zebra story", 3_000);
    let unpublished = draft(&author, "sim-hidden", "Zebra secrets", "hidden", 4_000);
    let unrelated = draft(&author, "sim-none", "Cooking pasta", "kitchen", 5_000);
    for blog in [
        &source,
        &by_title,
        &by_description,
        &unpublished,
        &unrelated,
    ] {
        store.insert(blog).await.unwrap();
    }
    for blog in [&source, &by_title, &by_description, &unrelated] {
        publish(store, blog, 6_000).await;
    }
    let similar = store.similar(&source).await.unwrap();
    let ids: Vec<&Id> = similar.iter().map(|b| &b.id).collect();
    assert_eq!(
        ids,
        [&by_title.id, &by_description.id],
        "title weight 3 beats description weight 1; source, unpublished and unrelated excluded"
    );
    for i in 0..8 {
        let blog = draft(
            &author,
            &format!("sim-many-{i}"),
            "Zebra",
            "zebra",
            7_000 + i,
        );
        store.insert(&blog).await.unwrap();
        publish(store, &blog, 7_000 + i).await;
    }
    assert_eq!(store.similar(&source).await.unwrap().len(), 6, "limit 6");
}

/// The publish write itself requires "submitted and not yet published": an editor who read the
/// blog before the author withdrew it (or before another editor published it) changes nothing.
async fn publish_with_stale_state_changes_nothing(store: &dyn BlogStore) {
    // Arrange: a submitted blog, read by the editor
    let author = Id::generate();
    let editor = Id::generate();
    let blog = draft(&author, "race-publish", "Race", "race", 1_000);
    store.insert(&blog).await.unwrap();
    let submit = BlogChange::Submit(true);
    let owner = Owner::Author(author);
    assert!(
        store
            .update(&blog.id, &owner, &submit, &author, Timestamp(2_000))
            .await
            .unwrap()
    );
    let seen = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert!(seen.submitted && !seen.published);
    let publish = BlogChange::Publish {
        text: seen.draft_text.clone(),
        published_at: Timestamp(4_000),
    };

    // Act: the author withdraws, then the editor publishes with what they read
    let withdraw = BlogChange::Submit(false);
    assert!(
        store
            .update(&blog.id, &owner, &withdraw, &author, Timestamp(3_000))
            .await
            .unwrap()
    );
    let published = store
        .update(&blog.id, &Owner::Any, &publish, &editor, Timestamp(4_000))
        .await
        .unwrap();

    // Assert
    assert!(!published, "a withdrawn blog was published");
    let stored = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.published, stored.submitted, stored.text.as_deref()),
        (false, false, None),
        "the withdrawn blog is untouched"
    );

    // and of two editors publishing with the same read, only the first one writes
    assert!(
        store
            .update(&blog.id, &owner, &submit, &author, Timestamp(5_000))
            .await
            .unwrap()
    );
    let first = store
        .update(&blog.id, &Owner::Any, &publish, &editor, Timestamp(6_000))
        .await
        .unwrap();
    let second = store
        .update(&blog.id, &Owner::Any, &publish, &author, Timestamp(7_000))
        .await
        .unwrap();
    assert_eq!(
        (first, second),
        (true, false),
        "a published blog was published again"
    );
    let stored = store.find_by_id(&blog.id).await.unwrap().unwrap();
    assert_eq!(
        stored.updated_by, editor,
        "the second publish changed nothing"
    );
}

async fn run_suite(store: Arc<dyn BlogStore>) {
    store.ping().await.unwrap();
    insert_round_trips_every_field(store.as_ref()).await;
    slugs_are_unique_even_after_delete(store.as_ref()).await;
    updates_respect_owner_and_status(store.as_ref()).await;
    lists_filter_sort_and_page(store.as_ref()).await;
    similar_weights_title_over_description(store.as_ref()).await;
    publish_with_stale_state_changes_nothing(store.as_ref()).await;
}

#[tokio::test]
async fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("blog.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    run_suite(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_file_is_shared_by_two_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("blog.db").display());
    let (a, b) = tokio::join!(SqliteStore::connect(&url), SqliteStore::connect(&url));
    let (a, b) = (a.unwrap(), b.unwrap());
    let author = Id::generate();
    let writes = (0..20).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let blog = draft(&author, &format!("replica-{i}"), "Replica", "replica", i);
        async move { store.insert(&blog).await }
    });
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    let all = b
        .list(&BlogList::AuthorDrafts(author), page(1, 100))
        .await
        .unwrap();
    assert_eq!(all.len(), 20);
}

#[tokio::test]
async fn mongo_store_passes_the_conformance_suite() {
    let Ok(uri) = std::env::var("MONGODB_TEST_URI") else {
        eprintln!(
            "SKIPPED mongo_store_passes_the_conformance_suite: MONGODB_TEST_URI is not set (no MongoDB server here)"
        );
        return;
    };
    let database = format!("blog-test-{}", Id::generate());
    let (base, query) = uri.split_once('?').unwrap_or((uri.as_str(), ""));
    let (scheme, rest) = base.split_once("://").unwrap_or(("mongodb", base));
    let hosts = rest.split('/').next().unwrap_or(rest);
    let url = if query.is_empty() {
        format!("{scheme}://{hosts}/{database}")
    } else {
        format!("{scheme}://{hosts}/{database}?{query}")
    };
    let store = MongoStore::connect(&url, true).await.unwrap();
    run_suite(Arc::new(store)).await;
}
