//! Finds the line of a config path (`services[1].routes[0].paths[0]`) in the YAML text, so that every
//! error names its line. Only used when there are errors to report.

use std::collections::HashMap;

use yaml_rust2::{
    Event,
    parser::{MarkedEventReceiver, Parser},
    scanner::Marker,
};

/// Path → 1-based line of every node in the document.
#[derive(Debug, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

impl LineIndex {
    /// Indexes `text`; a text that does not parse gives an empty index.
    pub fn build(text: &str) -> Self {
        let mut walker = Walker::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut walker, false).is_err() {
            return Self::default();
        }
        Self {
            lines: walker.lines,
        }
    }

    /// The line of `path`, or of its nearest ancestor that has one.
    pub fn line_of(&self, path: &str) -> Option<usize> {
        let mut current = path;
        loop {
            if let Some(line) = self.lines.get(current) {
                return Some(*line);
            }
            let cut = current.rfind(['.', '['])?;
            current = &current[..cut];
        }
    }
}

enum Frame {
    Mapping {
        key: Option<String>,
        expecting_key: bool,
    },
    Sequence {
        index: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    /// Path of each open container, parallel to `stack`.
    paths: Vec<String>,
    lines: HashMap<String, usize>,
}

impl Walker {
    /// The path of the node that starts now (a value, not a key), or `None` for a key scalar.
    fn next_node_path(&mut self) -> Option<String> {
        let parent = self.paths.last().cloned().unwrap_or_default();
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Sequence { index }) => {
                let path = format!("{parent}[{index}]");
                *index += 1;
                Some(path)
            }
            Some(Frame::Mapping { key, expecting_key }) => {
                if *expecting_key {
                    None
                } else {
                    *expecting_key = true;
                    let key = key.take().unwrap_or_default();
                    Some(if parent.is_empty() {
                        key
                    } else {
                        format!("{parent}.{key}")
                    })
                }
            }
        }
    }

    fn record(&mut self, path: &str, line: usize) {
        self.lines.entry(path.to_owned()).or_insert(line);
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line().max(1);
        match event {
            Event::Scalar(value, ..) => match self.next_node_path() {
                Some(path) => self.record(&path, line),
                None => {
                    // A key: remember it, and let the key's line stand for the value's path.
                    let parent = self.paths.last().cloned().unwrap_or_default();
                    let path = if parent.is_empty() {
                        value.clone()
                    } else {
                        format!("{parent}.{value}")
                    };
                    self.record(&path, line);
                    if let Some(Frame::Mapping { key, expecting_key }) = self.stack.last_mut() {
                        *key = Some(value);
                        *expecting_key = false;
                    }
                }
            },
            Event::Alias(_) => {
                if let Some(path) = self.next_node_path() {
                    self.record(&path, line);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let path = self.next_node_path().unwrap_or_default();
                self.record(&path, line);
                self.paths.push(path);
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Mapping {
                            key: None,
                            expecting_key: true,
                        }
                    } else {
                        Frame::Sequence { index: 0 }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.paths.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_nested_paths_and_falls_back_to_ancestors() {
        let text = "\
_format_version: \"3.0\"
services:
  - name: auth
    url: http://auth:8000
    routes:
      - name: a
        paths:
          - /auth
          - /login
  - name: blog
    routes: [{name: b, paths: [/blog]}]
";
        let index = LineIndex::build(text);
        assert_eq!(index.line_of("_format_version"), Some(1));
        assert_eq!(index.line_of("services[0].url"), Some(4));
        assert_eq!(index.line_of("services[0].routes[0].paths[1]"), Some(9));
        assert_eq!(index.line_of("services[1].name"), Some(10));
        assert_eq!(index.line_of("services[1].routes[0].paths[0]"), Some(11));
        assert_eq!(
            index.line_of("services[0].routes[0].nope"),
            Some(6),
            "falls back to the route"
        );
    }
}
