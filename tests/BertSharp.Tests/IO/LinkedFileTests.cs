using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.IO;

/// <summary>The file a path names through links (a HuggingFace cache's snapshot entries are links to their blobs).</summary>
public sealed class LinkedFileTests
{
    [Fact]
    public void A_chain_of_links_is_followed_to_its_file_and_one_that_ends_nowhere_names_none()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("blob"), new byte[1234]);
        // Relative, through a second link: each is read from the folder that holds it.
        Directory.CreateDirectory(tmp.File("snap"));
        File.CreateSymbolicLink(tmp.File("snap/mid"), "../blob");
        File.CreateSymbolicLink(tmp.File("entry"), "snap/mid");
        Assert.Equal(tmp.File("blob"), LinkedFile.FinalTarget(tmp.File("entry")));
        Assert.Equal(1234, LinkedFile.Length(tmp.File("entry")));
        Assert.True(LinkedFile.Exists(tmp.File("entry")));
        Assert.Equal(tmp.File("blob"), LinkedFile.FinalTarget(tmp.File("blob")));
        Assert.Equal(1234, LinkedFile.Length(tmp.File("blob")));

        // A deleted blob: the link itself still exists (File.Exists says so), the file it names does not.
        File.CreateSymbolicLink(tmp.File("gone"), "snap/nothing");
        Assert.True(File.Exists(tmp.File("gone")));
        Assert.Equal(tmp.File("snap/nothing"), LinkedFile.FinalTarget(tmp.File("gone")));
        Assert.False(LinkedFile.Exists(tmp.File("gone")));
        Assert.Throws<FileNotFoundException>(() => LinkedFile.Length(tmp.File("gone")));

        File.CreateSymbolicLink(tmp.File("loop"), "loop");
        Assert.ThrowsAny<IOException>(() => LinkedFile.FinalTarget(tmp.File("loop")));
        Assert.False(LinkedFile.Exists(tmp.File("loop")));

        // A link to a directory ends at something that is not a file.
        Directory.CreateSymbolicLink(tmp.File("dir"), "snap");
        Assert.Equal(tmp.File("snap"), LinkedFile.FinalTarget(tmp.File("dir")));
        Assert.False(LinkedFile.Exists(tmp.File("dir")));
    }
}
