package org.llamawb.datasets.source;

import com.fasterxml.jackson.databind.JsonNode;

/** Typed access to a record's keys with errors that name the key. */
final class Fields {
    private Fields() {}

    /** A required string field. */
    static String text(JsonNode node, String key, String where) throws BadRecord {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new BadRecord("missing key '" + where + key + "'");
        }
        if (!v.isTextual()) {
            throw new BadRecord("key '" + where + key + "' must be a string, got " + v.getNodeType().name().toLowerCase());
        }
        return v.asText();
    }

    /** An optional string field; empty when absent or null. */
    static String optionalText(JsonNode node, String key, String where) throws BadRecord {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return "";
        }
        if (!v.isTextual()) {
            throw new BadRecord("key '" + where + key + "' must be a string, got " + v.getNodeType().name().toLowerCase());
        }
        return v.asText();
    }

    /** A required array field. */
    static JsonNode array(JsonNode node, String key, String where) throws BadRecord {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            throw new BadRecord("missing key '" + where + key + "'");
        }
        if (!v.isArray()) {
            throw new BadRecord("key '" + where + key + "' must be a list, got " + v.getNodeType().name().toLowerCase());
        }
        return v;
    }

    /** The record's id: {@code id} when it is a string or number, else the origin. */
    static String id(JsonNode record, String fallback) {
        for (String key : new String[] {"id", "message_tree_id", "message_id"}) {
            JsonNode v = record.get(key);
            if (v != null && (v.isTextual() || v.isNumber())) {
                return v.asText();
            }
        }
        return fallback;
    }
}
