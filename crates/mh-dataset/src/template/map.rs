//! A small insertion-ordered string-keyed map for template values (the render context and each
//! message). Messages have a handful of keys that templates look up many times per render; a
//! linear scan over them is several times cheaper than hashing into minijinja's general map.

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value;

#[derive(Debug, Default)]
pub struct SmallMap(Vec<(Value, Value)>);

impl SmallMap {
    pub fn with_capacity(n: usize) -> Self {
        SmallMap(Vec::with_capacity(n))
    }

    /// Sets `key`, keeping its position when it is already there.
    pub fn set(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((Value::from(key), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn into_value(self) -> Value {
        Value::from_object(self)
    }
}

impl Object for SmallMap {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str().and_then(|k| self.get(k).cloned())
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(k, _)| k.clone()).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}
