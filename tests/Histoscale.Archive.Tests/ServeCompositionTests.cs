using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using Histoscale.Archive.Catalog;
using Histoscale.Archive.Tests.Support;
using Histoscale.Cli;
using Histoscale.Cli.Commands;
using Histoscale.Inference.Repository;
using Histoscale.Inference.Tensors;
using Histoscale.Server;
using Histoscale.Synthesis.Models;

namespace Histoscale.Archive.Tests;

/// <summary>
/// How hosts compose the archive: next to the KServe endpoints on the Triton HTTP port (as <c>serve
/// --model-repository ... --slides ...</c> does), and the CLI's flags and <c>token create</c>.
/// </summary>
public sealed class ServeCompositionTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    [Fact]
    public async Task The_archive_shares_the_kserve_http_port_and_only_that_port()
    {
        var repository = Directory.CreateDirectory(Path.Combine(fixture.Data.Root, "models-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        ModelRepositoryWriter.Write(repository, DemoModels.MeanIntensity(TensorDataType.UInt8, 8, name: "mean_u8"));
        await using var archive = await SlideArchive.OpenAsync(new ArchiveOptions
        {
            Collections = fixture.Data.Collections,
            Database = Databases.NewSqlite(fixture.Data.Root),
            AdminToken = ArchiveHost.AdminToken,
            ModelRepository = repository,
        });
        await using var server = await InferenceServer.StartAsync(new InferenceServerOptions
        {
            ModelRepository = repository,
            Host = "127.0.0.1",
            HttpPort = 0,
            GrpcPort = 0,
            MetricsPort = 0,
            MapHttpEndpoints = archive.MapEndpoints,
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);
        var models = await http.GetStringAsync("/api/v1/models");
        Assert.Contains("\"mean_u8\"", models, StringComparison.Ordinal);
        var a = SlideCatalog.IdOf("alpha", "a.svs");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/api/v1/slides/{a}/dzi")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.MetricsPort}") };
        metrics.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ArchiveHost.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, (await metrics.GetAsync("/api/v1/slides")).StatusCode);
        await server.StopAsync();
    }

    [Theory]
    [InlineData("give --model-repository", "")]
    [InlineData("--anonymous", "--slides {alpha} --anonymous write")]
    [InlineData("--slides", "--slides /no/such/folder")]
    [InlineData("--results", "--slides {alpha} --results /no/such/results")]
    [InlineData("--results", "--results {alpha}")]
    [InlineData("--slides/--db", "--slides bad*name={alpha}")]
    [InlineData("--slides/--db", "--slides {alpha} --db /no/such/folder/x.sqlite")]
    [InlineData("--cors-origin needs --slides", "--cors-origin http://viewer.test")]
    [InlineData("--cors-origin: CORS origin 'viewer.test/app'", "--slides {alpha} --cors-origin viewer.test/app")]
    [InlineData("--jobs must be 0 or more", "--slides {alpha} --jobs -1")]
    public async Task Malformed_archive_flags_exit_2_naming_the_flag(string expected, string arguments)
    {
        var root = new RootCommand { ServeCommand.Create() };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        string[] args = ["serve", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", "--host", "127.0.0.1",
            .. arguments.Replace("{alpha}", fixture.Data.Alpha, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        var run = CliRunner.RunAsync(root, args, stdout, stderr);
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30))));
        Assert.Equal(CliRunner.BadInput, await run);
        Assert.Contains(expected, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_help_says_slides_takes_bucket_prefixes_as_well_as_folders()
    {
        var root = new RootCommand { ServeCommand.Create() };
        using var stdout = new StringWriter();
        Assert.Equal(CliRunner.Ok, await CliRunner.RunAsync(root, ["serve", "--help"], stdout, new StringWriter()));
        var help = string.Join(' ', stdout.ToString().Split((char[])[' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        var start = help.IndexOf("--slides", StringComparison.Ordinal);
        Assert.True(start >= 0, help);
        var end = help.IndexOf("--results", start, StringComparison.Ordinal);
        var slides = help[start..(end > start ? end : help.Length)];
        foreach (var scheme in new[] { "s3://", "az://", "gs://", "folder" })
        {
            Assert.Contains(scheme, slides, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Token_create_prints_a_working_token_once_and_refuses_bad_roles()
    {
        var database = Databases.NewSqlite(fixture.Data.Root);
        var root = new RootCommand { TokenCommand.Create() };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(CliRunner.Ok, await CliRunner.RunAsync(root, ["token", "create", "--role", "read", "--collection", "beta", "--db", database], stdout, stderr));
        var token = stdout.ToString().Trim();
        Assert.StartsWith("hs_", token, StringComparison.Ordinal);
        Assert.DoesNotContain(token, await File.ReadAllTextAsync(database), StringComparison.Ordinal);
        await using (var host = await ArchiveHost.StartAsync(fixture.Data, database))
        {
            var slides = await host.Client(token).GetStringAsync("/api/v1/slides");
            Assert.Contains("\"beta\"", slides, StringComparison.Ordinal);
            Assert.DoesNotContain("\"alpha\"", slides, StringComparison.Ordinal);
        }
        using var err = new StringWriter();
        Assert.Equal(CliRunner.BadInput, await CliRunner.RunAsync(root, ["token", "create", "--role", "owner", "--db", database], new StringWriter(), err));
        Assert.Contains("--role", err.ToString(), StringComparison.Ordinal);
        using var err2 = new StringWriter();
        Assert.Equal(CliRunner.BadInput, await CliRunner.RunAsync(root, ["token", "create", "--role", "read", "--collection", "../x", "--db", database], new StringWriter(), err2));
        Assert.Contains("collection name", err2.ToString(), StringComparison.Ordinal);
    }
}
