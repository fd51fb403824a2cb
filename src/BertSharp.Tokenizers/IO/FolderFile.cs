namespace BertSharp.IO;

/// <summary>
/// Makes a folder and a file in it as one step that another run's clean-up cannot break: a failed Hub download removes the
/// folders it made while they are empty (<see cref="NewDirectories.RemoveEmpty"/>), and a concurrent download into the same
/// cache can be between making one of them and opening its lock file or partial blob there at that moment.
/// </summary>
internal static class FolderFile
{
    // Each failed run removes each folder it noted at most once, so a folder that keeps vanishing this many times in a row is
    // not that race but something else removing it: an error of its own, as no caller can do better by retrying or waiting.
    internal const int Attempts = 10;

    /// <summary>
    /// Tests only: runs after the folder is made and before the file is opened (with the file's path, or the folder's for
    /// <see cref="CreateDirectory"/>), to remove the folder at exactly that point. Flows into a download's tasks.
    /// </summary>
    internal static readonly AsyncLocal<Action<string>?> AfterFolder = new();

    /// <summary>Makes the folder of <paramref name="file"/> and runs <paramref name="open"/>, both again when the folder vanished in between.</summary>
    /// <exception cref="BertSharpException">The folder vanished at every attempt after it was made.</exception>
    public static T Open<T>(string file, Func<T> open) => InFolder(Path.GetDirectoryName(Path.GetFullPath(file))!, file, open);

    /// <summary>
    /// <see cref="Directory.CreateDirectory(string)"/>, again when a parent it found vanished before it made the folder
    /// below (.NET then fails with "could not find a part of the path").
    /// </summary>
    public static void CreateDirectory(string dir) => InFolder(dir, dir, () => true);

    private static T InFolder<T>(string dir, string path, Func<T> open)
    {
        var made = false;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                Directory.CreateDirectory(dir);
                made = true;
                AfterFolder.Value?.Invoke(path);
                return open();
            }
            catch (DirectoryNotFoundException) when (attempt < Attempts)
            {
            }
            // A folder never made did not vanish: a file stands where a folder of the path should be, and the system's
            // error goes to the caller, who names the place the user gave.
            catch (DirectoryNotFoundException e) when (made)
            {
                throw new BertSharpException(
                    Invariant($"{dir}: the folder kept vanishing as it was made ({Attempts} times in a row); another process keeps removing it."), e);
            }
        }
    }
}
