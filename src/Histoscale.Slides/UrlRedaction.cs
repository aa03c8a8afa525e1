using System.Text.RegularExpressions;

namespace Histoscale.Slides;

/// <summary>
/// Removes credentials from text that may contain URLs, before it reaches an error message or a log: the values of
/// presigned-URL and SAS query parameters that grant access (AWS <c>X-Amz-Signature</c>/<c>X-Amz-Credential</c>/
/// <c>X-Amz-Security-Token</c>, Azure SAS <c>sig</c>, GCS <c>X-Goog-Signature</c>/<c>X-Goog-Credential</c>, and generic
/// <c>signature</c>, <c>token</c>, <c>access_token</c>, <c>key</c>, <c>api_key</c>, <c>code</c>, <c>password</c>) and
/// the password of a URL's user info. The rest of the URL (host, path, expiry) stays, so the message still says which
/// object failed.
/// </summary>
public static partial class UrlRedaction
{
    /// <summary>What a removed value is replaced with.</summary>
    public const string Marker = "REDACTED";

    /// <summary>The text with every credential-bearing query value and URL password replaced by <see cref="Marker"/>.</summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text) || (text.IndexOf('=') < 0 && text.IndexOf('@') < 0))
        {
            return text;
        }
        var redacted = SecretParameter().Replace(text, m => $"{m.Groups["name"].Value}={Marker}");
        return UserInfoPassword().Replace(redacted, $"${{pre}}{Marker}@");
    }

    [GeneratedRegex(@"(?<=[?&;]|&amp;)(?<name>x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|awsaccesskeyid|signature|sig|token|access_token|id_token|refresh_token|api_key|apikey|key|code|password|policy)=(?<value>[^&\s'""#<>)\]]*)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretParameter();

    [GeneratedRegex(@"(?<pre>\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UserInfoPassword();
}
