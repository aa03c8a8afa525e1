using Histoscale.Notices;

var check = args.Contains("--check");
var root = ThirdPartyNotices.FindRepositoryRoot(AppContext.BaseDirectory);
var path = Path.Combine(root, ThirdPartyNotices.FileName);
string text;
try
{
    text = ThirdPartyNotices.Generate(root);
}
catch (InvalidOperationException ex)
{
    Console.Error.WriteLine($"histoscale-notices: {ex.Message}");
    return 2;
}
if (check)
{
    var current = File.Exists(path) ? File.ReadAllText(path) : "";
    if (current.ReplaceLineEndings("\n") == text)
    {
        Console.WriteLine($"{ThirdPartyNotices.FileName} is up to date");
        return 0;
    }
    Console.Error.WriteLine($"{ThirdPartyNotices.FileName} is out of date: run `dotnet run --project eng/Notices`");
    return 1;
}
File.WriteAllText(path, text);
Console.WriteLine($"wrote {path}");
return 0;
