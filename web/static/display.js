// The waiting room's screen: the board from /points/{id}/display/events (server-sent events),
// a chime and the number read out for each new call. No inline script (the page's CSP).
(function () {
  "use strict";
  var main = document.getElementById("main");
  var url = main.getAttribute("data-events");
  var words = document.getElementById("words").content.firstElementChild;
  var connection = document.getElementById("connection");
  var lastSeen = null; // the newest call id shown; null until the first board
  var audio = null;
  var source = null;

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  function deskCell(tag, c) {
    // the desk's name, and its room beside it when it has one
    var el = text(tag, c.desk);
    if (c.room) el.append(" ", text("span", c.room, "room"));
    return el;
  }

  function render(board) {
    var now = document.getElementById("now-serving");
    now.replaceChildren.apply(now, board.now_serving.map(function (c) {
      var row = document.createElement("tr");
      row.setAttribute("data-call", String(c.id));
      row.append(text("td", c.number, "number"), deskCell("td", c));
      return row;
    }));
    document.getElementById("nobody").hidden = board.now_serving.length > 0;
    var last = document.getElementById("last-calls");
    last.replaceChildren.apply(last, board.last_calls.map(function (c) {
      var li = document.createElement("li");
      li.append(text("span", c.number, "number"), document.createTextNode(" → "),
                deskCell("span", c), document.createTextNode(" "), text("span", c.time, "time"));
      return li;
    }));
    var waitLine = document.getElementById("wait-line");
    waitLine.hidden = board.wait === null;
    document.getElementById("wait").textContent = board.wait || "";
  }

  function chime() {
    if (!audio) return;
    var t = audio.currentTime;
    [659.25, 523.25].forEach(function (f, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, t + i * 0.45);
      gain.gain.exponentialRampToValueAtTime(0.4, t + i * 0.45 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.45 + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.45);
      osc.stop(t + i * 0.45 + 0.42);
    });
  }

  function say(sentence, lang) {
    if (!("speechSynthesis" in window)) return;
    var u = new SpeechSynthesisUtterance(sentence);
    u.lang = lang;
    window.speechSynthesis.speak(u);
  }

  function announce(board) {
    var fresh = board.last_calls.filter(function (c) { return lastSeen !== null && c.id > lastSeen; });
    fresh.reverse().forEach(function (c) {
      main.setAttribute("data-announced", String(c.id));
      chime();
      say(c.say, board.lang);
    });
    board.last_calls.forEach(function (c) { if (lastSeen === null || c.id > lastSeen) lastSeen = c.id; });
    if (lastSeen === null) lastSeen = 0;
  }

  function connect() {
    source = new EventSource(url);
    source.addEventListener("board", function (event) {
      var board = JSON.parse(event.data);
      render(board);
      announce(board);
      main.setAttribute("data-state", "live");
      connection.textContent = words.getAttribute("data-live");
    });
    source.onerror = function () {
      main.setAttribute("data-state", "reconnecting");
      connection.textContent = words.getAttribute("data-lost");
      if (source.readyState === EventSource.CLOSED) {
        // an error status (a replica answering 503 while it starts): try again ourselves
        setTimeout(connect, 2000);
      }
    };
  }

  document.getElementById("sound").addEventListener("click", function () {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume();
    this.textContent = words.getAttribute("data-sound-on");
    chime();
  });

  connect();
})();
