package org.realmjava.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page at / in a real headless Chromium (Debian's chromium and chromium-driver; skipped with
 * the reason printed when they are absent): typing a question and pressing Enter renders the
 * answer the API gives, one evidence entry per block read with the span highlighted, and a bad
 * request shows the server's error.
 */
class ServePageBrowserTest {
    @TempDir
    Path dir;

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    void typingAQuestionShowsTheAnswerAndItsEvidence() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            System.out.println("ServePageBrowserTest skipped: needs " + CHROMIUM + " and " + DRIVER + " (apt-get install chromium chromium-driver)");
            assumeTrue(false);
        }
        Path ck = RealmServerTest.checkpoint(dir, "qa", 4);
        try (RealmServer server = RealmServer.start(ck, RealmServer.Options.defaults("127.0.0.1", 0))) {
            String base = "http://127.0.0.1:" + server.port();
            String question = "What is the capital of Portugal?";
            HttpResponse<String> api = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base + "/v1/ask"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"question\": \"" + question + "\", \"k\": 2}")).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode expected = new ObjectMapper().readTree(api.body());

            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,900");
            ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort()
                    .withLogFile(new File(dir.resolve("chromedriver.log").toString())).build();
            WebDriver browser = new ChromeDriver(service, options);
            try {
                browser.get(base + "/");
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
                // the page reads /health first and shows the checkpoint's k
                wait.until(b -> !b.findElement(By.id("k")).getDomProperty("value").isEmpty());
                WebElement k = browser.findElement(By.id("k"));
                k.clear();
                k.sendKeys("2");
                browser.findElement(By.id("question")).sendKeys(question, Keys.ENTER);
                wait.until(b -> b.findElements(By.cssSelector("#evidence .ev")).size() == 2);
                String shown = browser.findElement(By.id("answer")).getText();
                assertTrue(shown.startsWith(expected.get("answer").asText()), shown + " vs " + expected);
                assertTrue(shown.contains(String.format(java.util.Locale.ROOT, "probability %.3f", expected.get("probability").asDouble())), shown);
                List<WebElement> evidence = browser.findElements(By.cssSelector("#evidence .ev"));
                for (int i = 0; i < 2; i++) {
                    JsonNode e = expected.get("evidence").get(i);
                    String text = evidence.get(i).getText();
                    assertTrue(text.contains(e.get("title").asText()), text);
                    List<WebElement> marks = evidence.get(i).findElements(By.tagName("mark"));
                    if (e.get("span_end").asInt() > e.get("span_start").asInt()) {
                        assertEquals(1, marks.size(), text);
                        assertEquals(e.get("span").asText().strip(), marks.get(0).getText().strip(), text);
                    }
                }
                // a question over the server's limit: the page shows the server's error line
                WebElement q = browser.findElement(By.id("question"));
                q.clear();
                ((org.openqa.selenium.JavascriptExecutor) browser).executeScript("document.getElementById('question').removeAttribute('maxlength')");
                q.sendKeys("why ".repeat(300), Keys.ENTER);
                wait.until(b -> !b.findElement(By.id("error")).getText().isEmpty());
                assertTrue(browser.findElement(By.id("error")).getText().contains("at most 1000"), browser.findElement(By.id("error")).getText());
            } finally {
                browser.quit();
            }
        }
    }
}
