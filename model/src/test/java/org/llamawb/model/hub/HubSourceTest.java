package org.llamawb.model.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.llamawb.model.BadInputException;
import org.llamawb.model.hub.HubSource.RepoType;

class HubSourceTest {
    @Test
    void parsesRepositoriesFilesFoldersRevisionsAndSplits() {
        assertEquals(new HubSource(RepoType.MODEL, "karpathy/tinyllamas", "main", "stories260K/stories260K.bin", null),
                HubSource.parse("hf:karpathy/tinyllamas/stories260K/stories260K.bin"));
        assertEquals(new HubSource(RepoType.MODEL, "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "v1.0", null, null),
                HubSource.parse("hf://TinyLlama/TinyLlama-1.1B-Chat-v1.0@v1.0"));
        assertEquals(new HubSource(RepoType.MODEL, "a/b", "refs/pr/3", "sub", null), HubSource.parse("hf:a/b@refs%2Fpr%2F3/sub/"));
        assertEquals(new HubSource(RepoType.DATASET, "tatsu-lab/alpaca", "main", null, "test"),
                HubSource.parse("hf:datasets/tatsu-lab/alpaca#test"));
        HubSource d = HubSource.parse("hf:datasets/o/n@0123456789abcdef0123456789abcdef01234567/data/x.parquet");
        assertTrue(d.revisionIsCommit());
        assertEquals("data/x.parquet", d.path());
        assertEquals("hf:datasets/o/n@0123456789abcdef0123456789abcdef01234567/data/x.parquet", d.toString());
        assertFalse(HubSource.parse("hf:a/b").revisionIsCommit());
    }

    @Test
    void malformedSourcesShowTheSyntax() {
        BadInputException e = assertThrows(BadInputException.class, () -> HubSource.parse("hf:gpt2"));
        assertEquals("'hf:gpt2': expected " + HubSource.SYNTAX + " (e.g. hf:karpathy/tinyllamas/stories260K/stories260K.bin)",
                e.getMessage());
        assertEquals("hf:a/b: #train picks a split, which only datasets have (hf:datasets/ORG/NAME#SPLIT)",
                assertThrows(BadInputException.class, () -> HubSource.parse("hf:a/b#train")).getMessage());
        assertEquals("hf:a/b: path '../x' must be relative to the repository, without .. or \\",
                assertThrows(BadInputException.class, () -> HubSource.parse("hf:a/b/../x")).getMessage());
    }

    @Test
    void aWholeModelRepositoryLeavesOtherFormatsOfItsWeightsOnTheHub() {
        assertEquals(java.util.List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer.model", "tokenizer_config.json"),
                HubDownload.checkpointFiles(java.util.List.of("config.json", "flax_model.msgpack", "model.safetensors", "onnx/model.onnx",
                        "pytorch_model.bin", "tf_model.h5", "tokenizer.json", "tokenizer.model", "tokenizer_config.json")));
        assertEquals(java.util.List.of("stories15M.bin", "tok512.bin"), HubDownload.checkpointFiles(java.util.List.of("stories15M.bin", "tok512.bin")));
    }

    @Test
    void splitsFollowTheHubsFileNaming() {
        assertTrue(HubDownload.inSplit("data/train-00000-of-00002.parquet", "train"));
        assertTrue(HubDownload.inSplit("train.jsonl", "train"));
        assertTrue(HubDownload.inSplit("default/train/0000.parquet", "train"));
        assertTrue(HubDownload.inSplit("alpaca_test.json.gz", "test"));
        assertFalse(HubDownload.inSplit("data/training_notes.json", "train"));
        assertFalse(HubDownload.inSplit("data/test-00000.parquet", "train"));
    }
}
