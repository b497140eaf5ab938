// Builds the whole storefront in the browser: nothing of it is in the HTML the server sends.
(function () {
  var c = window.CATALOGUE, page = location.pathname.replace(/\/$/, "") || "/";
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  var root = document.getElementById("root");
  var nav = el("header");
  [["/", "Home"], ["/faq", "FAQ"], ["/contact", "Contact us"]].forEach(function (l) { nav.appendChild(el("a", l[1], {href: l[0]})); });
  root.appendChild(nav);
  if (page === "/contact") {
    root.appendChild(el("h1", "Contact"));
    root.appendChild(el("p", "Email us: pillbox-online@gmail.com"));
  } else if (page === "/faq") {
    root.appendChild(el("h1", "FAQ"));
    root.appendChild(el("p", "How can I pay? We accept Bitcoin, Western Union and MoneyGram. Get 15% off when you pay with Bitcoin."));
  } else {
    root.appendChild(el("h1", c.headline));
    root.appendChild(el("p", c.offer));
    root.appendChild(el("p", c.extras));
    var list = el("ul");
    c.products.forEach(function (p) { list.appendChild(el("li", p[0] + " " + p[1] + " from " + p[2] + " per pill")); });
    root.appendChild(list);
  }
})();
